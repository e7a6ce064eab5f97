<?php
// A stand-in for Linea21's api/index.php, run as the router script of `php -S`: it reads
// `module`, `action` and `token` the way Linea21's front controller does ($_GET for the selectors,
// $_REQUEST for the token) or, for the path style `/api/{module}/{action}/`, from the path (what
// Linea21's URL rewriting hands it), and answers with what it read, as JSON. It also shows the
// decision Portcullis attached (the X-Portcullis-* headers), which a real Linea21 could trust
// instead of checking the token again. When REQUEST_LOG names a file, each request's path (no
// query: the token stays out of it) is appended there, so run.sh can tell what reached PHP.

$path = (string) parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
$log = getenv('REQUEST_LOG');
if (is_string($log) && $log !== '') {
    file_put_contents($log, $path . "\n", FILE_APPEND | LOCK_EX);
}
$segments = array_values(array_filter(explode('/', $path), 'strlen'));

if (isset($_GET['module']) || isset($_GET['action'])) {
    $style = 'query';
    $module = $_GET['module'] ?? null;
    $action = $_GET['action'] ?? null;
} elseif (($segments[0] ?? '') === 'api' && count($segments) === 3) {
    $style = 'path';
    $module = rawurldecode($segments[1]);
    $action = rawurldecode($segments[2]);
} else {
    $style = 'page';
    $module = null;
    $action = null;
}

$gateway = [];
foreach (['key_id', 'credential', 'module', 'action', 'status'] as $name) {
    $key = 'HTTP_X_PORTCULLIS_' . strtoupper($name);
    $gateway[$name] = isset($_SERVER[$key]) ? rawurldecode($_SERVER[$key]) : null;
}

header('Content-Type: application/json');
echo json_encode(
    [
        'style' => $style,
        'module' => $module,
        'action' => $action,
        'token' => $_REQUEST['token'] ?? null,
        'path' => $path,
        'gateway' => $gateway,
    ],
    JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE
) . "\n";
