import { Controller, Get, NotFoundException, Param } from '@nestjs/common';
import { AddressBookService } from './address-book.service';

/** `GET /contacts/:email`: the address-book entry, looked up through the cached client. */
@Controller('contacts')
export class AddressBookController {
  constructor(private readonly addressBook: AddressBookService) {}

  @Get(':email')
  async contact(@Param('email') email: string) {
    if (!/^[^@\s/]{1,64}@[^@\s/]{1,255}$/.test(email))
      throw new NotFoundException(`no contact ${email}`);
    return this.addressBook.lookup(email);
  }
}
