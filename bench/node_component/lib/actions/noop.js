'use strict';

// Returns its input with one field added.
exports.process = async function process(msg) {
    return { ...msg, body: { ...msg.body, handledBy: 'noop' } };
};
