'use strict';

// Twin of the real Create Response: validate the body (ajv), POST /responses with the
// configured model; a background job is remembered in the step's snapshot (the whole
// process-wide map, as the real action writes it) and polled after 1 s, then at intervals
// growing by half up to 15 s (RESPONSES_POLL_FIRST_S / RESPONSES_POLL_MAX_S shorten them,
// as for the real action), until it ends; then forgotten and emitted with output_text.
const { client, compileInputSchema, requestConfig, url } = require('../common');

const validate = compileInputSchema('createResponse');
const RUNNING = new Set(['queued', 'in_progress']);
const FIRST_POLL_S = Number(process.env.RESPONSES_POLL_FIRST_S) || 1;
const MAX_POLL_S = Number(process.env.RESPONSES_POLL_MAX_S) || Math.max(15, FIRST_POLL_S);
const jobs = {};

const sleep = (seconds) => new Promise((resolve) => { setTimeout(resolve, seconds * 1000); });

function outputText(response) {
    const parts = [];
    for (const item of response.output || []) {
        for (const part of (item.type === 'message' && item.content) || []) {
            if (part.type === 'output_text') {
                parts.push(part.text);
            }
        }
    }
    return parts.join('');
}

exports.process = async function process(msg, cfg) {
    const body = validate(msg.body);
    let response = (await client.post(url(cfg, '/responses'), { ...body, model: cfg.model },
        requestConfig(cfg))).data;
    if (RUNNING.has(response.status)) {
        jobs[msg.id] = { id: response.id, deadlineAt: Date.now() / 1000 + 30 * 60 };
        await this.emit('updateSnapshot', { backgroundResponses: { ...jobs } });
        let interval = FIRST_POLL_S;
        while (RUNNING.has(response.status)) {
            await sleep(interval);
            interval = Math.min(interval * 1.5, MAX_POLL_S);
            response = (await client.get(url(cfg, `/responses/${encodeURIComponent(response.id)}`),
                requestConfig(cfg))).data;
        }
        delete jobs[msg.id];
        await this.emit('updateSnapshot', { backgroundResponses: { ...jobs } });
    }
    return { body: { ...response, output_text: outputText(response) } };
};
