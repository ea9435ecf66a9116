import { ArrayMaxSize, ArrayMinSize, IsArray, IsEmail, IsString, MaxLength } from 'class-validator';

/** Body of `POST /mails`. */
export class CreateMailDto {
  @IsEmail({}, { message: 'from must be an email address' })
  @MaxLength(254)
  from!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsEmail({}, { each: true, message: 'each address in to must be an email address' })
  @MaxLength(254, { each: true })
  to!: string[];

  @IsString()
  @MaxLength(998)
  subject!: string;

  @IsString()
  @MaxLength(200_000)
  body!: string;
}
