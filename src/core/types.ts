/**
 * Shared vocabulary of BCP: node identities and the description of a model's layers, as the
 * seed's `butterfly_core` names them (`NodeId`, `LayerInfo`, `LayerType`).
 *
 * @module
 */

/**
 * The identity of a node in a BCP cluster. A plain string (for example a public-key fingerprint
 * or `"node-0"`), so that it can key maps and travel in messages unchanged.
 */
export type NodeId = string;

/** What a layer computes; the assigner only needs its cost, but logs and plans show the kind. */
export type LayerType =
  | { readonly kind: "embedding"; readonly vocabularySize: number; readonly hiddenDim: number }
  | {
    readonly kind: "transformerBlock";
    readonly hiddenDim: number;
    readonly headCount: number;
    readonly feedForwardDim: number;
  }
  | { readonly kind: "linear"; readonly inputDim: number; readonly outputDim: number }
  | { readonly kind: "activation" }
  | { readonly kind: "normalization" };

/** One layer of a model, in pipeline order, as the work assigner sees it. */
export interface LayerInfo {
  /** Unique id of the layer within the model. */
  readonly id: number;
  /** What the layer computes. */
  readonly layerType: LayerType;
  /** Work to run the layer once, in floating-point operations (FLOPs). */
  readonly computeCost: number;
  /** Memory the layer's weights and buffers need, in bytes. */
  readonly memoryBytes: number;
  /** Number of activation elements the layer hands to the next layer. */
  readonly outputSize: number;
}
