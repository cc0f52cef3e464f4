// Seed 000's Node.js example (axios + form-data), run by scripts/e2e.sh.
//
// Usage: node seed_node.js WEBHOOK_URL EMAIL OUT_PREFIX
//
// The block between the markers is the seed's code, unchanged except that the URL and the email
// come from the command line. A response interceptor registered before it saves the response as
// OUT_PREFIX.status and OUT_PREFIX.json for the script to check.
'use strict';

const fs = require('fs');

const [WEBHOOK_URL, EMAIL, OUT] = process.argv.slice(2);
if (!WEBHOOK_URL || !EMAIL || !OUT) {
    console.error('usage: node seed_node.js WEBHOOK_URL EMAIL OUT_PREFIX');
    process.exit(2);
}

function save(status, data) {
    fs.writeFileSync(`${OUT}.status`, String(status));
    fs.writeFileSync(`${OUT}.json`, typeof data === 'string' ? data : JSON.stringify(data));
}

require('axios').interceptors.response.use(
    (response) => {
        save(response.status, response.data);
        return response;
    },
    (error) => {
        if (error.response) {
            save(error.response.status, error.response.data);
        } else {
            console.error('request failed without a response:', error.message);
            process.exitCode = 1;
        }
        return Promise.reject(error);
    },
);

// --- seed 000 "Using JavaScript (Node.js)" ---------------------------------------------------
const axios = require('axios');
const FormData = require('form-data');

const webhookUrl = WEBHOOK_URL;

const formData = new FormData();
formData.append('email', EMAIL);
formData.append('first_name', 'John');
formData.append('last_name', 'Doe');
formData.append('user_login', 'johndoe');
formData.append('user_pass', 'SecurePassword123');

axios.post(webhookUrl, formData, {
    headers: formData.getHeaders()
})
.then(response => {
    console.log('Success:', response.data);
})
.catch(error => {
    console.error('Error:', error.response.data);
});
// --- end of seed -------------------------------------------------------------------------------
