/** Where the generated types live (absolute path of src/generated/api.ts). */
export declare const outputPath: string;
/** The contents of src/generated/api.ts for an OpenAPI document. */
export declare function generateTypes(document: unknown): Promise<string>;
