/**
 * SDM630-like readings for the bridge benchmark: the families of docs/architecture.md's catalogue
 * for a three-phase meter, 54 samples with HELP/UNIT metadata and acquisition timestamps, about
 * 7.8 KB of OpenMetrics per cycle, as the exporter publishes them.
 */

interface FamilySpec {
  name: string;
  type: "gauge" | "counter";
  unit?: string;
  help: string;
  label?: string;
  values: string[];
  base: number;
}

const PHASES = ["L1", "L2", "L3"];
const PAIRS = ["L1-L2", "L2-L3", "L3-L1"];
const KINDS = ["timeout", "crc", "exception", "disconnect", "other"];

const FAMILIES: FamilySpec[] = [
  {
    name: "floorsense_meter_voltage_volts",
    type: "gauge",
    unit: "volts",
    help: "Line to neutral voltage.",
    label: "phase",
    values: PHASES,
    base: 230,
  },
  {
    name: "floorsense_meter_line_voltage_volts",
    type: "gauge",
    unit: "volts",
    help: "Line to line voltage.",
    label: "phases",
    values: PAIRS,
    base: 400,
  },
  {
    name: "floorsense_meter_current_amperes",
    type: "gauge",
    unit: "amperes",
    help: "Phase current.",
    label: "phase",
    values: PHASES,
    base: 12,
  },
  {
    name: "floorsense_meter_power_watts",
    type: "gauge",
    unit: "watts",
    help: "Active power, negative when exporting.",
    label: "phase",
    values: PHASES,
    base: 2700,
  },
  {
    name: "floorsense_meter_apparent_power_voltamperes",
    type: "gauge",
    unit: "voltamperes",
    help: "Apparent power.",
    label: "phase",
    values: PHASES,
    base: 2900,
  },
  {
    name: "floorsense_meter_reactive_power_voltamperes_reactive",
    type: "gauge",
    unit: "voltamperes_reactive",
    help: "Reactive power.",
    label: "phase",
    values: PHASES,
    base: 400,
  },
  {
    name: "floorsense_meter_power_factor_ratio",
    type: "gauge",
    unit: "ratio",
    help: "Power factor, negative when leading.",
    label: "phase",
    values: PHASES,
    base: 0.93,
  },
  {
    name: "floorsense_meter_voltage_thd_ratio",
    type: "gauge",
    unit: "ratio",
    help: "Voltage THD (0.05 = 5 %).",
    label: "phase",
    values: PHASES,
    base: 0.02,
  },
  {
    name: "floorsense_meter_current_thd_ratio",
    type: "gauge",
    unit: "ratio",
    help: "Current THD (0.05 = 5 %).",
    label: "phase",
    values: PHASES,
    base: 0.08,
  },
  {
    name: "floorsense_meter_demand_watts",
    type: "gauge",
    unit: "watts",
    help: "Demand (average power).",
    label: "phase",
    values: PHASES,
    base: 2600,
  },
  {
    name: "floorsense_meter_max_demand_watts",
    type: "gauge",
    unit: "watts",
    help: "Maximum demand since reset.",
    label: "phase",
    values: PHASES,
    base: 4100,
  },
  {
    name: "floorsense_meter_phase_energy_imported_joules",
    type: "counter",
    unit: "joules",
    help: "Imported energy per phase.",
    label: "phase",
    values: PHASES,
    base: 4.1e9,
  },
  {
    name: "floorsense_meter_phase_energy_exported_joules",
    type: "counter",
    unit: "joules",
    help: "Exported energy per phase.",
    label: "phase",
    values: PHASES,
    base: 1.2e7,
  },
  {
    name: "floorsense_meter_system_power_watts",
    type: "gauge",
    unit: "watts",
    help: "Total active power of the device.",
    values: [""],
    base: 8100,
  },
  {
    name: "floorsense_meter_system_apparent_power_voltamperes",
    type: "gauge",
    unit: "voltamperes",
    help: "Total apparent power of the device.",
    values: [""],
    base: 8700,
  },
  {
    name: "floorsense_meter_system_reactive_power_voltamperes_reactive",
    type: "gauge",
    unit: "voltamperes_reactive",
    help: "Total reactive power.",
    values: [""],
    base: 1200,
  },
  {
    name: "floorsense_meter_system_power_factor_ratio",
    type: "gauge",
    unit: "ratio",
    help: "Total power factor.",
    values: [""],
    base: 0.93,
  },
  {
    name: "floorsense_meter_neutral_current_amperes",
    type: "gauge",
    unit: "amperes",
    help: "Neutral current.",
    values: [""],
    base: 0.4,
  },
  {
    name: "floorsense_meter_frequency_hertz",
    type: "gauge",
    unit: "hertz",
    help: "Supply frequency.",
    values: [""],
    base: 50,
  },
  {
    name: "floorsense_meter_energy_imported_joules",
    type: "counter",
    unit: "joules",
    help: "Total imported active energy (kWh x 3.6e6).",
    values: [""],
    base: 1.23e10,
  },
  {
    name: "floorsense_meter_energy_exported_joules",
    type: "counter",
    unit: "joules",
    help: "Total exported active energy (kWh x 3.6e6).",
    values: [""],
    base: 3.6e7,
  },
  {
    name: "floorsense_device_up",
    type: "gauge",
    help: "1 when the last read worked.",
    values: [""],
    base: 1,
  },
  {
    name: "floorsense_device_read_duration_seconds",
    type: "gauge",
    unit: "seconds",
    help: "Duration of the last read.",
    values: [""],
    base: 0.21,
  },
  {
    name: "floorsense_device_read_errors",
    type: "counter",
    help: "Failed reads by kind.",
    label: "kind",
    values: KINDS,
    base: 3,
  },
];

export const SAMPLES_PER_READING = FAMILIES.reduce((n, f) => n + f.values.length, 0);

/** One cycle of one device at `ts` (seconds); `seed` varies the values between devices and cycles. */
export function sdm630Reading(ts: number, seed: number): string {
  let out = "";
  let k = 0;
  for (const family of FAMILIES) {
    out += `# TYPE ${family.name} ${family.type}\n`;
    if (family.unit) out += `# UNIT ${family.name} ${family.unit}\n`;
    out += `# HELP ${family.name} ${family.help}\n`;
    const sampleName = family.type === "counter" ? `${family.name}_total` : family.name;
    for (const value of family.values) {
      const labels = family.label ? `{${family.label}="${value}"}` : "";
      // Register floats rounded to the meter's resolution, as the exporter publishes them.
      const v =
        Math.round(family.base * (1 + (((seed * 31 + k++ * 17) % 1000) - 500) / 50_000) * 1000) / 1000;
      out += `${sampleName}${labels} ${family.type === "counter" ? Math.abs(v) : v} ${ts}\n`;
    }
  }
  return `${out}# EOF\n`;
}

/** The same reading as flat JSON, for mqtt2prometheus (one key per sample, as it expects). */
export function sdm630Json(seed: number): string {
  const out: Record<string, number> = {};
  let k = 0;
  for (const family of FAMILIES) {
    for (const value of family.values) {
      const key = `${family.name}${value ? `_${value.replace("-", "_")}` : ""}`;
      out[key] =
        Math.round(family.base * (1 + (((seed * 31 + k++ * 17) % 1000) - 500) / 50_000) * 1000) / 1000;
    }
  }
  return JSON.stringify(out);
}

export const JSON_KEYS = Object.keys(JSON.parse(sdm630Json(0)) as Record<string, number>);
