/** Signed SSO assertions for tests, made with jose like an IdP would. */
import { SignJWT } from 'jose';

export const SSO_SECRET = 'test-sso-secret-0123456789abcdef0123456789';

export function assertion(email: string, options: { secret?: string; expiresIn?: string | number; alg?: string } = {}): Promise<string> {
  return new SignJWT({ email })
    .setProtectedHeader({ alg: options.alg ?? 'HS256' })
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(new TextEncoder().encode(options.secret ?? SSO_SECRET));
}

/** An unsigned `alg: none` token, which a correct verifier must refuse. */
export function unsignedAssertion(email: string): string {
  const encode = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ email, exp: Math.floor(Date.now() / 1000) + 300 })}.`;
}
