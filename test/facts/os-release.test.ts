// The os-release fact: which OS family a host's /etc/os-release names.
import { describe, expect, it } from 'vitest';
import { parseOsRelease } from '../../tasks/facts/os-release.ts';
import { ABSENT } from '../../tasks/facts/result.ts';
import { captured, ok } from './captured.ts';

// Shipped by base-files 13ubuntu10 (noble), rocky-release 9.4, fedora-release 41, linuxmint base-files 22.
const ubuntu2404 = 'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION="24.04.1 LTS (Noble Numbat)"\nVERSION_CODENAME=noble\nID=ubuntu\nID_LIKE=debian\nUBUNTU_CODENAME=noble\nLOGO=ubuntu-logo\n';
const rocky9 = 'NAME="Rocky Linux"\nVERSION="9.4 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\nPLATFORM_ID="platform:el9"\nPRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n';
const fedora41 = 'NAME="Fedora Linux"\nVERSION="41 (Server Edition)"\nID=fedora\nVERSION_ID=41\nPLATFORM_ID="platform:f41"\nPRETTY_NAME="Fedora Linux 41 (Server Edition)"\nVARIANT_ID=server\n';
const mint22 = 'NAME="Linux Mint"\nVERSION="22 (Wilma)"\nID=linuxmint\nID_LIKE="ubuntu debian"\nVERSION_ID="22"\n';
const arch = 'NAME="Arch Linux"\nPRETTY_NAME="Arch Linux"\nID=arch\nBUILD_ID=rolling\n';

describe('os-release fact', () => {
  it.each([
    ['Debian 12 (captured)', captured('os-release-debian12.txt'), { id: 'debian', idLike: [], versionId: '12', family: 'debian' }],
    ['Ubuntu 24.04', ubuntu2404, { id: 'ubuntu', idLike: ['debian'], versionId: '24.04', family: 'ubuntu' }],
    ['Rocky 9 (quoted ID)', rocky9, { id: 'rocky', idLike: ['rhel', 'centos', 'fedora'], versionId: '9.4', family: 'redhat' }],
    ['Fedora 41', fedora41, { id: 'fedora', idLike: [], versionId: '41', family: 'redhat' }],
    ['Mint: ID unknown, first known ID_LIKE wins', mint22, { id: 'linuxmint', idLike: ['ubuntu', 'debian'], versionId: '22', family: 'ubuntu' }],
    ['Arch: a family hvmctl does not know', arch, { id: 'arch', idLike: [] }],
  ])('%s', (_, text, expected) => {
    expect(parseOsRelease(ok(text))).toEqual(expected);
  });

  it('no os-release at all is no family, not an error; another failure is', () => {
    expect(parseOsRelease({ code: ABSENT, stdout: '', stderr: '' })).toEqual({ idLike: [] });
    expect(() => parseOsRelease({ code: 1, stdout: '', stderr: 'cat: /etc/os-release: Permission denied' })).toThrow(/Permission denied/);
  });

  it('an ID that is an Object prototype key is not a family', () => {
    expect(parseOsRelease(ok('ID=constructor\nID_LIKE="toString"\n'))).toEqual({ id: 'constructor', idLike: ['tostring'] });
  });
});
