"""Seed 000's Python example, run by scripts/e2e.sh.

Usage: seed_python.py WEBHOOK_URL EMAIL OUT_PREFIX

The block between the markers is the seed's code, unchanged except that the URL and the email
come from the command line. Afterwards the response is saved as OUT_PREFIX.status and
OUT_PREFIX.json for the script to check.
"""

import sys

WEBHOOK_URL, EMAIL, OUT = sys.argv[1], sys.argv[2], sys.argv[3]

# --- seed 000 "Using Python" -------------------------------------------------------------------
import requests

webhook_url = WEBHOOK_URL

data = {
    'email': EMAIL,
    'first_name': 'John',
    'last_name': 'Doe',
    'user_login': 'johndoe',
    'user_pass': 'SecurePassword123'
}

response = requests.post(webhook_url, data=data)

if response.status_code == 200:
    print('Success:', response.json())
else:
    print('Error:', response.text)
# --- end of seed ---------------------------------------------------------------------------------

with open(OUT + ".status", "w") as f:
    f.write(str(response.status_code))
with open(OUT + ".json", "w") as f:
    f.write(response.text)
