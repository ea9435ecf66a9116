/** Folders a mail can be moved to (`PATCH /mails/:id`). */
export const MAIL_FOLDERS = ['inbox', 'archive', 'spam', 'trash'] as const;
export type MailFolder = (typeof MAIL_FOLDERS)[number];

/** A stored mail. */
export interface Mail {
  id: string;
  from: string;
  to: string[];
  subject: string;
  body: string;
  receivedAt: string;
  spam: boolean;
  /** Size of subject + body in bytes (UTF-8). */
  size: number;
  read: boolean;
  /** `spam` for mails the scanner flagged, else `inbox`, until moved. */
  folder: MailFolder;
  /** 1 when stored, +1 on every change: the mail's deep ETag (with the repository's generation). */
  version: number;
  /** When it last changed (`receivedAt` until then): its `Last-Modified`. */
  updatedAt: string;
}

/** What `PATCH /mails/:id` may change. */
export interface MailChanges {
  read?: boolean;
  folder?: MailFolder;
}

/** A mail in a mailbox listing (no body). */
export type MailSummary = Omit<Mail, 'body'>;

export interface MailPage {
  user: string;
  page: number;
  pageSize: number;
  total: number;
  /** Changes whenever the mailbox changes (a new mail, an eviction, a mail in it read or moved): its ETag. */
  version: number;
  items: MailSummary[];
}
