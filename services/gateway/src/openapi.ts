import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { DISCLAIMER, RESULT_SCHEMA } from '@omniaffect/core';
import { PROBLEM_SCHEMA, StageProgress } from './openapi-models';

/** Routes that answer without an API key; everything else is documented with bearer auth. */
export const PUBLIC_PATHS = ['/healthz', '/readyz', '/metrics', '/v1/openapi.json'];

const DESCRIPTION = `Multimodal (text, voice, face) emotion analysis of Mandarin Chinese and English video, with
verifiable explanations: modality contributions, evidence words, voice segments and frames, and the decision path.

**Perceived, not felt.** ${DISCLAIMER}

Errors are RFC 9457 \`application/problem+json\` documents whose \`type\` ends in a stable slug.`;

/**
 * The OpenAPI document comes from the controllers' decorators; the result schema is the JSON Schema
 * the result is validated against (one source), so the document declares OpenAPI 3.1, whose schemas
 * are JSON Schema.
 */
export function buildOpenApi(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('OmniAffect API')
    .setDescription(DESCRIPTION)
    .setVersion('1')
    .setOpenAPIVersion('3.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key from OMNIAFFECT_API_KEYS' }, 'apiKey')
    .addApiKey(
      {
        type: 'apiKey',
        in: 'query',
        name: 'sig',
        description: 'A signed media link (with `exp`) that the gateway issues; only GET /v1/videos/{id}/media accepts it',
      },
      'mediaLink',
    )
    .addSecurityRequirements('apiKey')
    .build();
  const doc = SwaggerModule.createDocument(app, config, { extraModels: [StageProgress] });
  const { $id: _id, ...resultSchema } = RESULT_SCHEMA;
  doc.components = doc.components ?? {};
  doc.components.schemas = {
    ...doc.components.schemas,
    Result: resultSchema as unknown as Record<string, never>,
    Problem: PROBLEM_SCHEMA as unknown as Record<string, never>,
  };
  // One body schema per media type, which @ApiBody cannot say: uploads are multipart, URLs JSON.
  const submit = doc.paths['/v1/videos']?.post;
  if (submit) {
    submit.requestBody = {
      required: true,
      content: {
        'multipart/form-data': { schema: { $ref: '#/components/schemas/SubmitUploadBody' } },
        'application/json': { schema: { $ref: '#/components/schemas/SubmitUrlBody' } },
      },
    };
  }
  for (const p of PUBLIC_PATHS) {
    for (const op of Object.values(doc.paths[p] ?? {})) {
      if (op && typeof op === 'object' && 'responses' in op) (op as { security?: unknown[] }).security = [];
    }
  }
  return doc;
}
