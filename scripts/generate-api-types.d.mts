/** Where the generated types live: the api's and the client's copy (absolute paths). */
export declare const outputPaths: { api: string; client: string };
/** The OpenAPI document, read from packages/api/src/openapi/document.ts. */
export declare function loadDocument(): Promise<unknown>;
/** The contents of a generated api.ts for an OpenAPI document. */
export declare function generateTypes(document: unknown): Promise<string>;
