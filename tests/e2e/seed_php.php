<?php
// Seed 000's PHP example, run by scripts/e2e.sh when `php` is installed.
//
// Usage: php seed_php.php WEBHOOK_URL EMAIL OUT_PREFIX
//
// The seed calls WordPress's HTTP API; outside WordPress, the three functions it uses are
// provided below with WordPress's behaviour for this call (an array body is sent as
// application/x-www-form-urlencoded). The block between the markers is the seed's code,
// unchanged except that the URL and the email come from the command line.

[$_, $WEBHOOK_URL, $EMAIL, $OUT] = $argv + [null, null, null, null];
if (!$WEBHOOK_URL || !$EMAIL || !$OUT) {
    fwrite(STDERR, "usage: php seed_php.php WEBHOOK_URL EMAIL OUT_PREFIX\n");
    exit(2);
}

class WP_Error
{
    private $message;
    public function __construct($message) { $this->message = $message; }
    public function get_error_message() { return $this->message; }
}

function is_wp_error($thing) { return $thing instanceof WP_Error; }

function wp_remote_post($url, $args = [])
{
    $body = $args['body'] ?? '';
    $headers = "";
    if (is_array($body)) {
        $body = http_build_query($body);
        $headers .= "Content-Type: application/x-www-form-urlencoded; charset=UTF-8\r\n";
    }
    $context = stream_context_create(['http' => [
        'method' => 'POST',
        'header' => $headers,
        'content' => $body,
        'ignore_errors' => true,
        'timeout' => 30,
    ]]);
    $responseBody = @file_get_contents($url, false, $context);
    if ($responseBody === false) {
        return new WP_Error('HTTP request failed: ' . (error_get_last()['message'] ?? 'unknown error'));
    }
    $code = 0;
    foreach ($http_response_header ?? [] as $line) {
        if (preg_match('#^HTTP/\S+\s+(\d{3})#', $line, $m)) {
            $code = (int) $m[1];
        }
    }
    return ['body' => $responseBody, 'response' => ['code' => $code]];
}

function wp_remote_retrieve_body($response) { return $response['body'] ?? ''; }

// --- seed 000 "Using PHP" ---------------------------------------------------------------------
$webhookUrl = $WEBHOOK_URL;

$data = [
    'email'      => $EMAIL,
    'first_name' => 'John',
    'last_name'  => 'Doe',
    'user_login' => 'johndoe',
    'user_pass'  => 'SecurePassword123'
];

$response = wp_remote_post($webhookUrl, [
    'body' => $data
]);

if (is_wp_error($response)) {
    // Handle error
    error_log('Webhook failed: ' . $response->get_error_message());
} else {
    // Success
    $body = wp_remote_retrieve_body($response);
    $result = json_decode($body, true);
}
// --- end of seed -------------------------------------------------------------------------------

if (is_wp_error($response)) {
    exit(1);
}
file_put_contents($OUT . '.status', (string) $response['response']['code']);
file_put_contents($OUT . '.json', $body);
