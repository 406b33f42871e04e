'use strict';

// One chat-completion POST to cfg.baseUrl per message, on a keep-alive agent without a
// socket cap (so any prefetch can run concurrently).
const http = require('http');

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
const TIMEOUT_MS = 30000;

function postJson(url, payload) {
    const data = Buffer.from(JSON.stringify(payload));
    return new Promise((resolve, reject) => {
        const request = http.request(url, {
            method: 'POST',
            agent,
            timeout: TIMEOUT_MS,
            headers: {
                'Content-Type': 'application/json',
                'Content-Length': data.length,
                Authorization: 'Bearer bench-key',
            },
        }, (response) => {
            const chunks = [];
            response.on('data', (chunk) => chunks.push(chunk));
            response.on('end', () => {
                const text = Buffer.concat(chunks).toString('utf8');
                if (response.statusCode !== 200) {
                    reject(new Error(`HTTP ${response.statusCode}: ${text}`));
                } else {
                    resolve(JSON.parse(text));
                }
            });
            response.on('error', reject);
        });
        request.on('timeout', () => request.destroy(new Error('request timed out')));
        request.on('error', reject);
        request.end(data);
    });
}

exports.process = async function process(msg, cfg) {
    const completion = await postJson(`${cfg.baseUrl}/chat/completions`, {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: msg.body.prompt }],
    });
    return { body: { ...msg.body, answer: completion.choices[0].message.content } };
};
