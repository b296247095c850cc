import type { MetricFamily } from "../../openmetrics/index.js";

const T = 1700000000.5;

/** One read cycle of an SDM630-like meter, written out by hand (the golden files spell out its text). */
export function meterFamilies(): MetricFamily[] {
  const perPhase = (values: [number, number, number]) =>
    (["L1", "L2", "L3"] as const).map((phase, i) => ({ phase, value: values[i]! }));
  const gauge = (
    name: string,
    unit: string,
    help: string,
    values: [number, number, number],
  ): MetricFamily => ({
    name,
    type: "gauge",
    unit,
    help,
    samples: perPhase(values).map(({ phase, value }) => ({ name, labels: { phase }, value, timestamp: T })),
  });
  const h = "floorsense_device_read_duration_seconds";
  const buckets: Array<[string, number]> = [
    ["0.005", 3],
    ["0.01", 17],
    ["0.025", 40],
    ["0.05", 42],
    ["0.1", 42],
    ["+Inf", 43],
  ];
  return [
    gauge(
      "floorsense_meter_voltage_volts",
      "volts",
      "Line to neutral voltage per phase.",
      [230.1, 229.8, 231.4],
    ),
    gauge("floorsense_meter_current_amperes", "amperes", "Current per phase.", [12.5, 11.75, 13]),
    gauge(
      "floorsense_meter_power_watts",
      "watts",
      "Active power per phase.\nPositive when importing, see C:\\docs\\sdm630.pdf.",
      [2876.25, -120.5, 3008.2],
    ),
    {
      name: "floorsense_meter_frequency_hertz",
      type: "gauge",
      unit: "hertz",
      help: "Supply frequency.",
      samples: [{ name: "floorsense_meter_frequency_hertz", labels: {}, value: 50.02, timestamp: T }],
    },
    {
      name: "floorsense_meter_energy_imported_joules",
      type: "counter",
      unit: "joules",
      help: "Imported active energy (kWh x 3.6e6).",
      samples: [
        {
          name: "floorsense_meter_energy_imported_joules_total",
          labels: {},
          value: 4512345600,
          timestamp: T,
          exemplar: { labels: { reading_id: "r-42" }, value: 3600000, timestamp: T },
        },
        {
          name: "floorsense_meter_energy_imported_joules_created",
          labels: {},
          value: 1699990000,
          timestamp: T,
        },
      ],
    },
    {
      name: h,
      type: "histogram",
      unit: "seconds",
      help: "Time to read all registers of the device.",
      samples: [
        ...buckets.map(([le, value]) => ({
          name: `${h}_bucket`,
          labels: { le },
          value,
          ...(le === "0.05"
            ? {
                exemplar: {
                  labels: { trace_id: "4bf92f3577b34da6" },
                  value: 0.0312,
                  timestamp: 1700000000.25,
                },
              }
            : {}),
        })),
        { name: `${h}_count`, labels: {}, value: 43 },
        { name: `${h}_sum`, labels: {}, value: 0.8734 },
        { name: `${h}_created`, labels: {}, value: 1699990000.125 },
      ],
    },
    {
      name: "floorsense_meter_device",
      type: "info",
      help: "Static facts about the meter.",
      samples: [
        {
          name: "floorsense_meter_device_info",
          labels: { model: "SDM630", firmware: "1.2.3", serial: 'SN 0042 "A"' },
          value: 1,
        },
      ],
    },
    {
      name: "floorsense_device_state",
      type: "stateset",
      help: "Connection state of the device.",
      samples: ["online", "degraded", "offline"].map((state) => ({
        name: "floorsense_device_state",
        labels: { floorsense_device_state: state },
        value: state === "online" ? 1 : 0,
      })),
    },
    {
      name: "floorsense_device_up",
      type: "gauge",
      help: "1 when the last read succeeded.",
      samples: [{ name: "floorsense_device_up", labels: {}, value: 1 }],
    },
  ];
}
