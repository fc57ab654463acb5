//! Spec files the tests write: a fifth vendor, copies of the embedded specs.

use std::path::Path;

/// A small valid spec of a fifth vendor, `acme`: one create operation, Bearer auth, one unique
/// rule. Nothing about it is written in Rust outside this text.
pub const ACME_SPEC: &str = r##"openapi: 3.1.0
info: { title: Acme — create widget account, version: test }
paths:
  /v1/accounts:
    post:
      operationId: createAccount
      requestBody:
        required: true
        content:
          application/json:
            schema: { $ref: '#/components/schemas/NewAccount' }
            examples:
              captured:
                value: { email: ops@acme.test, plan: pro }
      responses:
        '201':
          description: Created
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Account' }
        '400':
          description: Bad request
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Problem' }
        '401':
          description: Unauthorized
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Problem' }
        '409':
          description: Duplicate
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Problem' }
      x-mock:
        action: create
        collection: accounts
        ids:
          - { path: id, kind: sequence, start: 1 }
        unique:
          - { name: email, path: email, scope: platform, normalize: [trim, lowercase], error: duplicate_email }
        success:
          status: 201
          body: { id: '{{record.id}}', email: '{{record.email}}', plan: '{{record.plan}}' }
components:
  schemas:
    NewAccount:
      type: object
      required: [email, plan]
      properties:
        email: { type: string, format: email }
        plan: { type: string, enum: [free, pro] }
    Account:
      type: object
      required: [id, email, plan]
      properties:
        id: { type: integer }
        email: { type: string }
        plan: { type: string }
    Problem:
      type: object
      required: [problem]
      properties:
        problem: { type: string }
x-mock:
  vendor: acme
  title: Acme
  auth:
    credentials:
      - { name: token, in: bearer, key: Authorization }
    reject_prefixes: [expired]
  errors:
    unauthorized: { status: 401, schema: '#/components/schemas/Problem', body: { problem: unauthorized } }
    malformed: { status: 400, schema: '#/components/schemas/Problem', body: { problem: '{{error.message}}' } }
    invalid: { status: 400, schema: '#/components/schemas/Problem', body: { problem: '{{error.message}}' } }
    duplicate_email: { status: 409, schema: '#/components/schemas/Problem', body: { problem: 'taken: {{error.value}}' } }
    not_found: { status: 404, schema: '#/components/schemas/Problem', body: { problem: 'try {{nearest}}' } }
    method_not_allowed: { status: 405, schema: '#/components/schemas/Problem', body: { problem: 'no {{method}}' } }
    too_large: { status: 413, schema: '#/components/schemas/Problem', body: { problem: too large } }
    timeout: { status: 408, schema: '#/components/schemas/Problem', body: { problem: too slow } }
    server_error: { status: 500, schema: '#/components/schemas/Problem', body: { problem: broken } }
    rate_limited:
      status: 429
      schema: '#/components/schemas/Problem'
      headers: { Retry-After: '{{retry_after}}' }
      body: { problem: slow down }
  fidelity:
    - { behaviour: 'Acme accounts are created with POST /v1/accounts', status: assumed, why: test vendor }
"##;

/// A temporary folder holding the embedded specs' files (copied from `specs/`) and `extra` files.
pub fn spec_dir(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("create a temporary folder");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    for entry in std::fs::read_dir(&source).expect("the workspace has specs/") {
        let path = entry.expect("read specs/").path();
        if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            let name = path.file_name().expect("a spec file has a name");
            std::fs::copy(&path, dir.path().join(name)).expect("copy a spec file");
        }
    }
    for (name, text) in extra {
        std::fs::write(dir.path().join(name), text).expect("write a spec file");
    }
    dir
}
