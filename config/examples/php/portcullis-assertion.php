<?php
// Verify the X-Portcullis-Assertion a Portcullis gateway adds to the requests it forwards, with
// PHP's standard library only (hash, json, sodium). Include this file, then:
//
//   $claims = portcullis_verify_assertion(
//       $_SERVER['HTTP_X_PORTCULLIS_ASSERTION'] ?? '',
//       'HS256',                        // the algorithm the gateway signs with: HS256 or EdDSA
//       file_get_contents('/etc/app/portcullis-assertion.key'),  // HS256: the shared secret;
//                                       // EdDSA: the base64 of the 32-byte Ed25519 public key
//       'app'                           // this upstream's name in the gateway's policy
//   );
//   if ($claims === null) { http_response_code(403); exit; }
//   // $claims['jti'] request id, ['kind'] and ['cid'] credential kind and id, ['sub'] subject,
//   // ['module'], ['action'], ['scope'] resource values, ['exp'] expiry (unix seconds).
//
// The algorithm is the caller's, never the token's: a token whose header names another one is
// refused, so an EdDSA public key can never be used as an HMAC secret.

function portcullis_b64url_decode(string $s): ?string
{
    if ($s === '' || preg_match('/[^A-Za-z0-9_-]/', $s)) {
        return null;
    }
    $d = base64_decode(strtr($s, '-_', '+/') . str_repeat('=', (4 - strlen($s) % 4) % 4), true);
    return $d === false ? null : $d;
}

function portcullis_verify_assertion(string $token, string $alg, string $key, string $audience, ?int $now = null): ?array
{
    $parts = explode('.', $token);
    if (count($parts) !== 3) {
        return null;
    }
    [$h, $p, $s] = $parts;
    $header = json_decode(portcullis_b64url_decode($h) ?? '', true);
    $sig = portcullis_b64url_decode($s);
    if (!is_array($header) || $sig === null || ($header['alg'] ?? null) !== $alg) {
        return null;
    }
    $signed = $h . '.' . $p;
    if ($alg === 'HS256') {
        $secret = rtrim($key, "\r\n");
        if (strlen($secret) < 32 || !hash_equals(hash_hmac('sha256', $signed, $secret, true), $sig)) {
            return null;
        }
    } elseif ($alg === 'EdDSA') {
        $pk = base64_decode(trim($key), true);
        if ($pk === false || strlen($pk) !== SODIUM_CRYPTO_SIGN_PUBLICKEYBYTES
            || strlen($sig) !== SODIUM_CRYPTO_SIGN_BYTES
            || !sodium_crypto_sign_verify_detached($sig, $signed, $pk)) {
            return null;
        }
    } else {
        return null;
    }
    $claims = json_decode(portcullis_b64url_decode($p) ?? '', true);
    if (!is_array($claims)) {
        return null;
    }
    $now = $now ?? time();
    if (!is_int($claims['exp'] ?? null) || $claims['exp'] <= $now) {
        return null;
    }
    if (($claims['iss'] ?? null) !== 'portcullis' || ($claims['aud'] ?? null) !== $audience) {
        return null;
    }
    return $claims;
}
