'use strict';

// What the twins share, written the way a Node component of the platform would:
// - the input validation: the real component's input schema (copied into ./schemas by
//   bench/common/sailors.py), turned from the platform's dialect (`required: true` on a
//   property) into JSON Schema 2020-12 and compiled once per process with ajv;
// - one axios client per process on keep-alive agents without a socket cap.
const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');
const Ajv2020 = require('ajv/dist/2020');
const axios = require('axios');

const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });

function toJsonSchema(schema) {
    if (Array.isArray(schema)) {
        return schema.map(toJsonSchema);
    }
    if (schema === null || typeof schema !== 'object') {
        return schema;
    }
    const out = {};
    for (const [key, value] of Object.entries(schema)) {
        if (!(key === 'required' && typeof value === 'boolean')) {
            out[key] = toJsonSchema(value);
        }
    }
    const props = schema.properties;
    if (props && typeof props === 'object') {
        const required = Array.isArray(schema.required) ? [...schema.required] : [];
        for (const [name, sub] of Object.entries(props)) {
            if (sub && sub.required === true && !required.includes(name)) {
                required.push(name);
            }
        }
        if (required.length) {
            out.required = required;
        }
    }
    return out;
}

exports.compileInputSchema = function compileInputSchema(action) {
    const file = path.join(__dirname, '..', 'schemas', `${action}.in.json`);
    const validate = ajv.compile(toJsonSchema(JSON.parse(fs.readFileSync(file, 'utf8'))));
    return function check(body) {
        if (!validate(body)) {
            throw new Error(`Invalid message body: ${ajv.errorsText(validate.errors)}`);
        }
        return body;
    };
};

exports.client = axios.create({
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: Infinity }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets: Infinity }),
    timeout: 60000,
    maxContentLength: 64 * 1024 * 1024,
});

exports.requestConfig = function requestConfig(cfg, extra) {
    return { headers: { Authorization: `Bearer ${cfg.apiKey}` }, ...extra };
};

exports.url = function url(cfg, endpoint) {
    return `${(cfg.baseUrl || 'https://api.openai.com/v1').replace(/\/+$/, '')}${endpoint}`;
};
