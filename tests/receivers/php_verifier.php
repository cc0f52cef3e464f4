<?php
// The receiver of seed 004 ("PHP Example"): hash_hmac over the raw body, hash_equals against
// X-FluentCRM-Signature. Run with: SECRET=... php -S 127.0.0.1:PORT php_verifier.php
function verifyWebhook($payload, $signature, $secret) {
    $expectedSignature = 'sha256=' . hash_hmac('sha256', $payload, $secret);
    return hash_equals($expectedSignature, $signature);
}

$log = getenv('LOG');
$results = file_exists($log) ? json_decode(file_get_contents($log), true) : ['ok' => 0, 'bad' => []];

if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    $payload = file_get_contents('php://input');
    $signature = $_SERVER['HTTP_X_FLUENTCRM_SIGNATURE'] ?? '';
    $isValid = verifyWebhook($payload, $signature, getenv('SECRET'));
    if ($isValid) {
        $results['ok'] += 1;
        http_response_code(200);
    } else {
        $results['bad'][] = $_SERVER['HTTP_X_FLUENTCRM_DELIVERY'] ?? 'unknown';
        http_response_code(401);
    }
    file_put_contents($log, json_encode($results), LOCK_EX);
    echo 'OK';
} else {
    header('Content-Type: application/json');
    echo json_encode($results);
}
