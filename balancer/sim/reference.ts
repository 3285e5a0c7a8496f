// CloudSim 3.0.3's figures for the two PlanetLab days, as run on this project's
// machines (REFERENCE-SIM.md), MFPED included (Moges & Abebe's CloudSim class).
export interface Reference {
  readonly policy: string;
  readonly energyKWh: number;
  readonly migrations: number;
  /** Fractions (0..1), undefined where not published. */
  readonly slatah?: number;
  readonly pdm?: number;
  readonly slav?: number;
  /** Who produced it: CloudSim (default), or this simulator in the same run. */
  readonly source?: string;
}

export const REFERENCES: Readonly<Record<string, readonly Reference[]>> = {
  '20110303': [
    { policy: 'no migration (DVFS)', energyKWh: 764.96, migrations: 0 },
    { policy: 'THR-MMT-0.8', energyKWh: 198.08, migrations: 27728, slatah: 0.05, pdm: 0.0007, slav: 0.0000357 },
    { policy: 'THR-MMT-1.0', energyKWh: 168.71, migrations: 47987, slatah: 0.1568, pdm: 0.0019, slav: 0.0002915 },
    { policy: 'IQR-MMT-1.5', energyKWh: 193.63, migrations: 27592, slatah: 0.0502, pdm: 0.0007, slav: 0.0000342 },
    { policy: 'MAD-MMT-2.5', energyKWh: 189.79, migrations: 27781, slatah: 0.0509, pdm: 0.0007, slav: 0.0000357 },
    { policy: 'LR-MMT-1.2', energyKWh: 167.83, migrations: 27649, slatah: 0.0572, pdm: 0.0008, slav: 0.0000432 },
    { policy: 'LR-RS-1.2', energyKWh: 153.54, migrations: 22865, slatah: 0.0718, pdm: 0.001, slav: 0.0000718 },
    { policy: 'MFPED', energyKWh: 117.71, migrations: 10299, slatah: 0.0285, pdm: 0.0003, slav: 0.0000073 },
  ],
  '20110306': [
    { policy: 'THR-MMT-0.8', energyKWh: 150.7, migrations: 21575, slatah: 0.0521, pdm: 0.0008, slav: 0.0000398 },
    { policy: 'LR-MMT-1.2', energyKWh: 127.98, migrations: 21661, slatah: 0.0599, pdm: 0.0008, slav: 0.0000497 },
    { policy: 'MFPED', energyKWh: 90.0, migrations: 7556, slatah: 0.0291, pdm: 0.0002, slav: 0.0000072 },
  ],
};

/** The hosts of CloudSim's model the published figures were taken on (half HP ProLiant G4, half G5). */
export const CLOUDSIM_HOSTS = 800;

/** The day a trace directory is named for, when it is one of the published ones (a label: whether
 * its files are that day's is Trace.day). */
export function knownDay(dir: string): string | undefined {
  const base = dir.replace(/\/+$/, '').split('/').pop() ?? '';
  return base in REFERENCES ? base : undefined;
}
