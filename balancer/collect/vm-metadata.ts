// The balancer's per-VM record kept in libvirt itself, so it travels with the
// domain and survives a lost state file:
//   virsh metadata DOMAIN https://hvmctl.dev/xmlns/vm/1
//   <vm><home>kvmnode1</home><moved>1700000000</moved><reason>...</reason></vm>
import { ParseError } from '../../src/errors.ts';

export const VM_METADATA_URI = 'https://hvmctl.dev/xmlns/vm/1';
export const VM_METADATA_KEY = 'hvmctl';

export interface VmMetadata {
  readonly home: string | undefined;
  /** Unix seconds of the last migration by the balancer. */
  readonly moved: number | undefined;
  readonly reason: string | undefined;
}

export function parseVmMetadata(xml: string): VmMetadata {
  const t = xml.trim();
  if (!/^<(?:\w+:)?vm[\s>/]/.test(t)) throw new ParseError('virsh metadata', `expected a <vm> element, got "${t.slice(0, 60)}"`);
  const field = (tag: string): string | undefined => {
    const m = new RegExp(`<(?:\\w+:)?${tag}>([\\s\\S]*?)</(?:\\w+:)?${tag}>`).exec(t);
    return m ? unescapeXml(m[1]!.trim()) : undefined;
  };
  const movedText = field('moved');
  const moved = movedText === undefined || movedText === '' ? undefined : Number(movedText);
  if (moved !== undefined && !Number.isFinite(moved)) throw new ParseError('virsh metadata', `<moved>${movedText}</moved> is not a Unix time`);
  const home = field('home');
  return { home: home === '' ? undefined : home, moved, reason: field('reason') };
}

export function formatVmMetadata(meta: VmMetadata): string {
  const parts = ['<vm>'];
  if (meta.home !== undefined) parts.push(`<home>${escapeXml(meta.home)}</home>`);
  if (meta.moved !== undefined) parts.push(`<moved>${Math.round(meta.moved)}</moved>`);
  if (meta.reason !== undefined) parts.push(`<reason>${escapeXml(meta.reason)}</reason>`);
  parts.push('</vm>');
  return parts.join('');
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}
