// Built-in edge-device profiles for `onnx-lens fit`: memory sizes from the vendors' datasheets, MAC rates as
// stated assumptions (each `basis` says where the figure comes from) — latency from them is an estimate, not a
// measurement.

export type ComputeDtype = 'int8' | 'fp32';

export interface MacRate {
  /** effective multiply-accumulates per clock cycle per core (what kernels achieve, not the ISA's peak) */
  macsPerCycle: number;
  /** the rate per second as a user profile states it (then macsPerCycle is derived, or 0 without a clock) */
  macsPerSecond?: number;
  /** where the figure comes from, or the assumption it is */
  basis: string;
}

export interface DeviceProfile {
  /** the `--device` name */
  name: string;
  /** other names `--device` accepts */
  aliases: string[];
  title: string;
  cpu: string;
  /** null when a user profile states its MAC rate per second and no clock */
  clockHz: number | null;
  /** cores a runtime spreads one inference over (1 on microcontrollers: TFLM runs single-threaded) */
  cores: number;
  /** storage for the weights; null when there is no practical limit (e.g. an SD card) */
  flashBytes: number | null;
  /** memory for the activations (the tensor arena) */
  ramBytes: number;
  macRate: Record<ComputeDtype, MacRate>;
  /** what else competes for the memory, and other caveats */
  notes: string[];
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const cortexM4 = (clockHz: number): Record<ComputeDtype, MacRate> => ({
  int8: {
    macsPerCycle: 1,
    basis: 'CMSIS-NN int8 kernels: SMLAD does 2 MACs per instruction, ~1 MAC/cycle effective after loads and sign extension (range 0.5–1)',
  },
  fp32: {
    macsPerCycle: 0.5,
    basis: `Cortex-M4F single-precision FPU, scalar: ~1 MAC per 2 cycles with operand loads (assumption); ${clockHz / 1e6} MHz`,
  },
});

const esp32s3Rate: Record<ComputeDtype, MacRate> = {
  int8: {
    macsPerCycle: 1,
    basis: 'ESP-NN s8 kernels with the S3 vector extension: a 1×1 conv 64→64 on 10×10 takes 428,675 cycles for 409,600 MACs (≈0.96 MAC/cycle, ESP-NN README); 3×3 convs on few channels run slower',
  },
  fp32: {
    macsPerCycle: 0.25,
    basis: 'Xtensa LX7 scalar FPU, no float SIMD in TFLM reference kernels: ~1 MAC per 4 cycles (assumption)',
  },
};

export const deviceProfiles: readonly DeviceProfile[] = [
  {
    name: 'nano33ble',
    aliases: ['nano33', 'nano-33-ble', 'arduino-nano-33-ble-sense', 'nrf52840'],
    title: 'Arduino Nano 33 BLE Sense (nRF52840)',
    cpu: 'Cortex-M4F',
    clockHz: 64e6,
    cores: 1,
    flashBytes: 1 * MiB,
    ramBytes: 256 * KiB,
    macRate: cortexM4(64e6),
    notes: ['flash also holds the firmware (Mbed OS core + TFLite Micro, some 200–300 KB) and RAM the stacks and globals; leave headroom'],
  },
  {
    name: 'esp32-s3',
    aliases: ['esp32s3'],
    title: 'ESP32-S3 (512 KB SRAM, 8 MB flash, no PSRAM)',
    cpu: 'Xtensa LX7 ×2',
    clockHz: 240e6,
    cores: 1,
    flashBytes: 8 * MiB,
    ramBytes: 512 * KiB,
    macRate: esp32s3Rate,
    notes: ['ESP-IDF, Wi-Fi and caches take part of the 512 KB SRAM; estimates use one core'],
  },
  {
    name: 'esp32-s3-psram',
    aliases: ['esp32s3-psram'],
    title: 'ESP32-S3 with 8 MB PSRAM (arena in PSRAM)',
    cpu: 'Xtensa LX7 ×2',
    clockHz: 240e6,
    cores: 1,
    flashBytes: 8 * MiB,
    ramBytes: 8 * MiB,
    macRate: esp32s3Rate,
    notes: ['an arena in PSRAM (octal SPI) is slower than internal SRAM: the latency estimate is optimistic there; estimates use one core'],
  },
  {
    name: 'rpi4',
    aliases: ['pi4', 'raspberry-pi-4'],
    title: 'Raspberry Pi 4 (4 GB)',
    cpu: 'Cortex-A72 ×4',
    clockHz: 1.5e9,
    cores: 4,
    flashBytes: null,
    ramBytes: 4 * GiB,
    macRate: {
      int8: {
        macsPerCycle: 2,
        basis: 'NEON without dot-product instructions (Armv8.0: widening SMLAL, 8 int16 lanes): ~2 MACs/cycle/core effective (assumption, a small fraction of peak)',
      },
      fp32: {
        macsPerCycle: 1,
        basis: 'NEON FMLA 4 fp32 lanes ×2 pipes = 8 MACs/cycle/core peak; ~1 MAC/cycle/core effective with memory traffic (assumption)',
      },
    },
    notes: ['storage is the SD card (no practical limit); the OS takes a few hundred MB of the 4 GB; estimates use all four cores'],
  },
];

/** Multiply-accumulates per second the device sustains for `dtype`, across the cores it uses. */
export function macsPerSecond(device: DeviceProfile, dtype: ComputeDtype): number {
  const rate = device.macRate[dtype];
  return rate.macsPerSecond ?? rate.macsPerCycle * (device.clockHz ?? 0) * device.cores;
}

/** The profile called `name` (or one of its aliases) among `profiles` (default: the built-in ones). */
export function findDevice(name: string, profiles: readonly DeviceProfile[] = deviceProfiles): DeviceProfile | undefined {
  const key = name.trim().toLowerCase();
  return profiles.find((d) => d.name.toLowerCase() === key || d.aliases.includes(key));
}
