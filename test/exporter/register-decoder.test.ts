import { describe, expect, it } from "vitest";
import {
  decodeValue,
  encodeValue,
  type RegisterType,
  toBigEndian,
  type WordOrder,
} from "../../exporter/register-decoder.js";

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ""), "hex");
const spec = (type: RegisterType, order: WordOrder = "ABCD", extra: object = {}) => ({
  type,
  order,
  scale: 1,
  offset: 0,
  ...extra,
});

/** Data bytes of an FC04 response frame: after address, function and byte count, before the CRC. */
function responseData(frame: string): Buffer {
  const bytes = hex(frame);
  expect(bytes[2]).toBe(bytes.length - 5);
  return bytes.subarray(3, bytes.length - 2);
}

describe("real SDM630 RTU frames from ../shared/reference/sdm630.md", () => {
  // Expected values are the decoded values the reference lists next to each frame.
  const frames: Array<[string, string, number, number, number]> = [
    ["0x000E PowerL2", "01 04 04 00 00 00 00 fb 84", 0.0, 1, 0],
    ["0x016A SumL3 (kWh)", "01 04 04 45 a2 26 c7 14 98", 5188.847, 1, 3],
    ["0x00EA THDL1 (%)", "01 04 04 3f e3 c9 61 91 de", 1.7796, 1, 4],
    ["0x00EE THDL3 (%)", "01 04 04 40 d5 73 45 1b 7f", 6.6703, 1, 4],
    ["0x000C PowerL1", "01 04 04 41 fa 17 7c c1 98", 31.2615, 1, 4],
    ["0x0038 ApparentPower", "01 04 04 41 fc 71 09 cb de", 31.5552, 1, 4],
  ];
  for (const [name, frame, value, scale, digits] of frames) {
    it(`decodes ${name}`, () => {
      expect(decodeValue(responseData(frame), spec("float32", "ABCD", { scale })) as number).toBeCloseTo(
        value,
        digits,
      );
    });
  }

  it("scales kWh to joules and THD percent to a ratio as the profile does", () => {
    expect(
      decodeValue(responseData("01 04 04 45 a2 26 c7 14 98"), spec("float32", "ABCD", { scale: 3.6e6 })),
    ).toBeCloseTo(
      5188.847 * 3.6e6,
      -4, // the reference rounds to Wh; 1 Wh is 3600 J
    );
    expect(
      decodeValue(responseData("01 04 04 40 d5 73 45 1b 7f"), spec("float32", "ABCD", { scale: 0.01 })),
    ).toBeCloseTo(0.066703, 6);
  });

  it("shows the off-by-one trap: the same bytes in swapped word order are garbage", () => {
    const data = responseData("01 04 04 45 a2 26 c7 14 98");
    expect(Math.abs(decodeValue(data, spec("float32", "CDAB")) as number)).not.toBeCloseTo(5188.847, 0);
  });
});

describe("every type in every order", () => {
  // 0x01020304 laid out on the wire per order.
  const wire32: Record<WordOrder, string> = {
    ABCD: "01020304",
    CDAB: "03040102",
    BADC: "02010403",
    DCBA: "04030201",
  };
  const wire64: Record<WordOrder, string> = {
    ABCD: "0102030405060708",
    CDAB: "0708050603040102",
    BADC: "0201040306050807",
    DCBA: "0807060504030201",
  };

  for (const order of ["ABCD", "CDAB", "BADC", "DCBA"] as const) {
    it(`reorders 32 and 64 bits for ${order}`, () => {
      expect(toBigEndian(hex(wire32[order]), order).toString("hex")).toBe("01020304");
      expect(toBigEndian(hex(wire64[order]), order).toString("hex")).toBe("0102030405060708");
      expect(decodeValue(hex(wire32[order]), spec("uint32", order))).toBe(0x01020304);
      expect(decodeValue(hex(wire32[order]), spec("int32", order))).toBe(0x01020304);
      expect(decodeValue(hex(wire64[order]), spec("uint64", order))).toBe(Number(0x0102030405060708n));
      expect(decodeValue(hex(wire64[order]), spec("int64", order))).toBe(Number(0x0102030405060708n));
    });

    it(`decodes float32 and float64 in ${order}`, () => {
      // 230.5 = 0x43668000 as float32; 1.5 = 0x3FF8000000000000 as float64.
      const f32 = toBigEndian(hex("43668000"), order);
      const f64 = toBigEndian(hex("3ff8000000000000"), order);
      expect(decodeValue(f32, spec("float32", order))).toBe(230.5);
      expect(decodeValue(f64, spec("float64", order))).toBe(1.5);
    });

    it(`round-trips encodeValue in ${order}`, () => {
      for (const type of [
        "int16",
        "uint16",
        "int32",
        "uint32",
        "int64",
        "uint64",
        "float32",
        "float64",
      ] as const) {
        const value = type.startsWith("u") ? 1234 : -1234;
        expect(decodeValue(encodeValue(value, spec(type, order)), spec(type, order))).toBe(value);
      }
    });
  }

  it("reads 16-bit types, where BADC/DCBA swap the two bytes", () => {
    expect(decodeValue(hex("fffe"), spec("int16"))).toBe(-2);
    expect(decodeValue(hex("fffe"), spec("uint16"))).toBe(65534);
    expect(decodeValue(hex("0109"), spec("uint16", "BADC"))).toBe(0x0901);
    expect(decodeValue(hex("0109"), spec("uint16", "CDAB"))).toBe(0x0109);
  });

  it("reads negative 32 and 64 bit integers", () => {
    expect(decodeValue(hex("fffffffe"), spec("int32"))).toBe(-2);
    expect(decodeValue(hex("fffefff f".replace(" ", "")), spec("int32", "CDAB"))).toBe(-2);
    expect(decodeValue(hex("ffffffffffffff9c"), spec("int64"))).toBe(-100);
  });

  it("picks one bit of a register", () => {
    expect(decodeValue(hex("0008"), spec("bit", "ABCD", { bit: 3 }))).toBe(1);
    expect(decodeValue(hex("0008"), spec("bit", "ABCD", { bit: 2 }))).toBe(0);
    expect(decodeValue(hex("8000"), spec("bit", "ABCD", { bit: 15 }))).toBe(1);
  });

  it("reads strings and trims padding", () => {
    expect(decodeValue(Buffer.from("SN12345\0\0\0", "latin1"), spec("string", "ABCD", { length: 10 }))).toBe(
      "SN12345",
    );
    // Byte-swapped strings, as some PLCs store them.
    expect(decodeValue(Buffer.from("NS2143", "latin1"), spec("string", "BADC", { length: 6 }))).toBe(
      "SN1234",
    );
  });

  it("applies scale and offset", () => {
    expect(decodeValue(hex("08fd"), spec("int16", "ABCD", { scale: 0.1 }))).toBeCloseTo(230.1, 10);
    expect(decodeValue(hex("0064"), spec("int16", "ABCD", { scale: 0.5, offset: -40 }))).toBe(10);
  });

  it("refuses a span of the wrong size", () => {
    expect(() => decodeValue(hex("0102"), spec("float32"))).toThrow("float32 needs 4 bytes, got 2");
  });
});
