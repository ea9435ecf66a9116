import { Injectable } from '@nestjs/common';
import { HttpClient, InjectHttpClient, type CacheStatus } from '@steady/http-client';

export interface Contact {
  email: string;
  displayName: string;
  department: string;
}

/** Contact lookups for the mail service, through the cached `address-book` client. */
@Injectable()
export class AddressBookService {
  constructor(@InjectHttpClient('address-book') private readonly client: HttpClient) {}

  /** The contact and how the cache answered (HIT, MISS, REVALIDATED, STALE, ...). */
  async lookup(email: string): Promise<{ contact: Contact; cache: CacheStatus }> {
    const res = await this.client.get(`/contacts/${encodeURIComponent(email)}`);
    if (res.status !== 200) throw new Error(`address book answered ${res.status} for ${email}`);
    return { contact: res.json<Contact>(), cache: res.cacheStatus };
  }
}
