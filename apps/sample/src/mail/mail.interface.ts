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
}

/** A mail in a mailbox listing (no body). */
export type MailSummary = Omit<Mail, 'body'>;

export interface MailPage {
  user: string;
  page: number;
  pageSize: number;
  total: number;
  /** Changes whenever the mailbox changes (a new mail or an eviction); a later issue turns it into an ETag. */
  version: number;
  items: MailSummary[];
}
