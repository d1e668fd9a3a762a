// The QR code of a TOTP secret (mfa.md): an otpauth:// URI drawn here as SVG (no outside service)
// and shown as a data: image, which the pages' img-src allows (docs/decisions/0093).
import { lazyRequire } from '../../lazy.ts';
import { otpauthUri } from './totp.ts';

const qrcode = lazyRequire<typeof import('qrcode')>('qrcode');

export async function totpQrDataUri(issuer: string, account: string, secret: string): Promise<string> {
  const svg = await qrcode().toString(otpauthUri({ issuer: new URL(issuer).host, account, secret }), { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}
