// The QR code of a TOTP secret (mfa.md): an otpauth:// URI drawn here as SVG (no outside service)
// and shown as a data: image, which the pages' img-src allows (docs/decisions/0093).
import QRCode from 'qrcode';
import { otpauthUri } from './totp.ts';

export async function totpQrDataUri(issuer: string, account: string, secret: string): Promise<string> {
  const svg = await QRCode.toString(otpauthUri({ issuer: new URL(issuer).host, account, secret }), { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}
