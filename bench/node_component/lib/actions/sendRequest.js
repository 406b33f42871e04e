'use strict';

// Twin of the real Send Request: validate the body (ajv), one axios POST of it with the
// configured model to /chat/completions, emit the whole answer. With `stream: true` the
// server-sent events are read as they come and folded into one chat.completion first.
const { client, compileInputSchema, requestConfig, url } = require('../common');

const validate = compileInputSchema('sendRequest');

function newChoice(index) {
    return { index, message: { role: 'assistant', content: null }, parts: [], finish_reason: null };
}

// Folds chat.completion.chunk objects into the chat.completion a non-streamed call returns.
function assembler() {
    const completion = { object: 'chat.completion', choices: [] };
    const choices = new Map();
    return {
        add(chunk) {
            for (const key of ['id', 'created', 'model', 'system_fingerprint', 'service_tier']) {
                if (chunk[key] !== undefined) {
                    completion[key] = chunk[key];
                }
            }
            if (chunk.usage) {
                completion.usage = chunk.usage;
            }
            for (const delta of chunk.choices || []) {
                let choice = choices.get(delta.index);
                if (!choice) {
                    choice = newChoice(delta.index);
                    choices.set(delta.index, choice);
                }
                if (delta.delta && delta.delta.role) {
                    choice.message.role = delta.delta.role;
                }
                if (delta.delta && typeof delta.delta.content === 'string') {
                    choice.parts.push(delta.delta.content);
                }
                if (delta.finish_reason) {
                    choice.finish_reason = delta.finish_reason;
                }
            }
        },
        result() {
            completion.choices = [...choices.values()].map(({ parts, ...choice }) => {
                choice.message.content = parts.length ? parts.join('') : null;
                return choice;
            });
            return completion;
        },
    };
}

function readEvents(stream) {
    return new Promise((resolve, reject) => {
        const completion = assembler();
        let pending = '';
        stream.setEncoding('utf8');
        stream.on('data', (text) => {
            pending += text;
            let end = pending.indexOf('\n');
            while (end >= 0) {
                const line = pending.slice(0, end).replace(/\r$/, '');
                pending = pending.slice(end + 1);
                if (line.startsWith('data:')) {
                    const data = line.slice(5).trim();
                    if (data !== '[DONE]') {
                        completion.add(JSON.parse(data));
                    }
                }
                end = pending.indexOf('\n');
            }
        });
        stream.on('end', () => resolve(completion.result()));
        stream.on('error', reject);
    });
}

exports.process = async function process(msg, cfg) {
    const body = validate(msg.body);
    const request = { ...body, model: cfg.model };
    const endpoint = url(cfg, '/chat/completions');
    if (request.stream === true) {
        request.stream_options = { include_usage: true, ...request.stream_options };
        const response = await client.post(endpoint, request,
            requestConfig(cfg, { responseType: 'stream' }));
        return { body: await readEvents(response.data) };
    }
    const response = await client.post(endpoint, request, requestConfig(cfg));
    return { body: response.data };
};
