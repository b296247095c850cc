import { createRequire } from "node:module";
import type { ModbusRTU } from "modbus-serial/ModbusRTU.js";
import type { IServiceVector, ServerTCP as ServerTCPClass } from "modbus-serial/ServerTCP.js";

// modbus-serial is CommonJS and its typings describe the default export as a namespace under
// NodeNext; loading it through require gives the runtime objects with the typings that fit them.
const require = createRequire(import.meta.url);
const modbusSerial = require("modbus-serial") as {
  new (): ModbusRTU;
  ServerTCP: new (
    vector: IServiceVector,
    options: { host?: string; port?: number; unitID?: number; debug?: boolean },
  ) => ServerTCPClass;
  ServerSerial: new (
    vector: IServiceVector,
    options: {
      path: string;
      baudRate: number;
      unitID?: number;
      debug?: boolean;
      dataBits?: number;
      stopBits?: number;
      parity?: string;
    },
  ) => ServerTCPClass;
};

export type ModbusClient = ModbusRTU;
export type { IServiceVector };
export const ModbusClient = modbusSerial;
export const ServerTCP = modbusSerial.ServerTCP;
export const ServerSerial = modbusSerial.ServerSerial;
