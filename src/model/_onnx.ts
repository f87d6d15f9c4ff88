// A thin layer over onnx-proto (ONNX's own schema compiled by protobufjs): nodes, initializers
// and value infos as plain objects, encoded by the maintained library rather than by hand.

import onnxProto from "onnx-proto";

const onnx = onnxProto.onnx;

/** ONNX opset the graphs target: 17 is the first with LayerNormalization. */
export const ONNX_OPSET = 17;
/** ONNX IR version matching opset 17 (ONNX 1.12). */
export const ONNX_IR_VERSION = 8;

/** ONNX element types used here (TensorProto.DataType). */
export const ELEMENT_TYPE = Object.freeze({ float32: 1, int32: 6, int64: 7, bool: 9 });

/** A dimension: a fixed size or a symbolic name such as "sequence". */
export type Dim = number | string;

/** Attributes of a node: integers, floats, integer lists or a tensor. */
export type AttributeValue = number | readonly number[] | { float: number };

/** Accumulates the nodes and initializers of one graph. */
export interface GraphBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[];
  readonly initializers: onnxProto.onnx.ITensorProto[];
  counter: number;
}

/** Creates an empty graph builder. */
export function createGraphBuilder(): GraphBuilder {
  return { nodes: [], initializers: [], counter: 0 };
}

function attribute(name: string, value: AttributeValue): onnxProto.onnx.IAttributeProto {
  const types = onnx.AttributeProto.AttributeType;
  if (typeof value === "number") {
    return { name, type: types.INT, i: value };
  }
  if (Array.isArray(value)) {
    return { name, type: types.INTS, ints: [...value] };
  }
  return { name, type: types.FLOAT, f: (value as { float: number }).float };
}

/**
 * Appends a node and returns its output names. Outputs are named `${hint}_${counter}` unless
 * `outputs` gives the names (graph outputs must keep their public names).
 */
export function addNode(
  graph: GraphBuilder,
  opType: string,
  inputs: readonly string[],
  options: {
    hint?: string;
    outputs?: readonly string[];
    attributes?: Record<string, AttributeValue>;
  } = {},
): string[] {
  const outputs = options.outputs
    ? [...options.outputs]
    : [`${options.hint ?? opType.toLowerCase()}_${graph.counter++}`];
  graph.nodes.push({
    opType,
    name: `${opType}_${graph.nodes.length}`,
    input: [...inputs],
    output: [...outputs],
    attribute: Object.entries(options.attributes ?? {}).map(([name, value]) =>
      attribute(name, value)
    ),
  });
  return outputs;
}

/** Appends a node with a single output and returns that output's name. */
export function addNode1(
  graph: GraphBuilder,
  opType: string,
  inputs: readonly string[],
  options: { hint?: string; output?: string; attributes?: Record<string, AttributeValue> } = {},
): string {
  const [output] = addNode(graph, opType, inputs, {
    ...(options.hint === undefined ? {} : { hint: options.hint }),
    ...(options.output === undefined ? {} : { outputs: [options.output] }),
    ...(options.attributes === undefined ? {} : { attributes: options.attributes }),
  });
  return output!;
}

function littleEndianBytes(values: Float32Array | Int32Array | BigInt64Array): Uint8Array {
  // Typed arrays use the host's byte order; ONNX raw_data is little-endian. Every platform ORT
  // ships for is little-endian, and this assertion keeps it that way.
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error("Cannot encode ONNX raw data on a big-endian host");
  }
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Adds a float32 initializer and returns its name. */
export function addFloatInitializer(
  graph: GraphBuilder,
  name: string,
  dims: readonly number[],
  values: Float32Array,
): string {
  graph.initializers.push({
    name,
    dims: [...dims],
    dataType: ELEMENT_TYPE.float32,
    rawData: littleEndianBytes(values),
  });
  return name;
}

/** Adds an int64 constant initializer (shapes, axes, indices) and returns its name. */
export function addInt64Constant(
  graph: GraphBuilder,
  values: readonly number[],
  options: { scalar?: boolean } = {},
): string {
  const name = `const_i64_${graph.counter++}`;
  if (options.scalar === true && values.length !== 1) {
    throw new Error(`A scalar constant needs one value, got ${values.length}`);
  }
  graph.initializers.push({
    name,
    dims: options.scalar === true ? [] : [values.length],
    dataType: ELEMENT_TYPE.int64,
    rawData: littleEndianBytes(BigInt64Array.from(values, (value) => BigInt(value))),
  });
  return name;
}

/** Adds a float32 scalar constant and returns its name. */
export function addFloatScalar(graph: GraphBuilder, value: number): string {
  const name = `const_f32_${graph.counter++}`;
  graph.initializers.push({
    name,
    dims: [],
    dataType: ELEMENT_TYPE.float32,
    rawData: littleEndianBytes(new Float32Array([value])),
  });
  return name;
}

/** Declares a graph input or output. */
export interface ValueSpec {
  readonly name: string;
  readonly elementType: number;
  readonly dims: readonly Dim[];
}

function valueInfo(spec: ValueSpec): onnxProto.onnx.IValueInfoProto {
  return {
    name: spec.name,
    type: {
      tensorType: {
        elemType: spec.elementType,
        shape: {
          dim: spec.dims.map((dim) =>
            typeof dim === "number" ? { dimValue: dim } : { dimParam: dim }
          ),
        },
      },
    },
  };
}

/** Encodes a finished graph as an ONNX model (protobuf bytes). */
export function encodeModel(
  graph: GraphBuilder,
  options: { name: string; inputs: readonly ValueSpec[]; outputs: readonly ValueSpec[] },
): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    producerName: "butterfly",
    opsetImport: [{ domain: "", version: ONNX_OPSET }],
    graph: {
      name: options.name,
      node: graph.nodes,
      initializer: graph.initializers,
      input: options.inputs.map(valueInfo),
      output: options.outputs.map(valueInfo),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** The declared inputs and outputs of an encoded model, for validating user models. */
export interface ModelSignature {
  readonly inputs: ValueSpec[];
  readonly outputs: ValueSpec[];
  /**
   * The lookup tables of the graph: each Gather node whose data is a 2-D initializer, with the
   * table's rows and what indexes it (an embedding of tokens or of positions bounds its input).
   */
  readonly lookupTables: LookupTable[];
}

/** A Gather node's 2-D initializer table. */
export interface LookupTable {
  readonly initializer: string;
  readonly rows: number;
  readonly indices: string;
}

function specOf(info: onnxProto.onnx.IValueInfoProto): ValueSpec {
  const tensor = info.type?.tensorType;
  return {
    name: info.name ?? "",
    elementType: tensor?.elemType ?? 0,
    dims: (tensor?.shape?.dim ?? []).map((dim) =>
      dim.dimParam ? dim.dimParam : Number(dim.dimValue ?? 0)
    ),
  };
}

/** Decodes an ONNX model's graph inputs (less initializers) and outputs. */
export function decodeSignature(bytes: Uint8Array): ModelSignature {
  const model = onnx.ModelProto.decode(bytes);
  const initializers = model.graph?.initializer ?? [];
  const initializerNames = new Set(initializers.map((tensor) => tensor.name));
  const dimsOf = new Map(initializers.map((tensor) => [tensor.name ?? "", tensor.dims ?? []]));
  const lookupTables: LookupTable[] = [];
  for (const node of model.graph?.node ?? []) {
    const [data, indices] = node.input ?? [];
    const dims = dimsOf.get(data ?? "");
    if (node.opType === "Gather" && dims?.length === 2 && indices !== undefined) {
      lookupTables.push({ initializer: data!, rows: Number(dims[0]), indices });
    }
  }
  return {
    inputs: (model.graph?.input ?? []).filter((input) => !initializerNames.has(input.name))
      .map(specOf),
    outputs: (model.graph?.output ?? []).map(specOf),
    lookupTables,
  };
}
