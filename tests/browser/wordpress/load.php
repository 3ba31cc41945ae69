<?php
/**
 * Loads the session's copy of WordPress on the command line, as a request to its home page
 * would: every helper script here starts with it.
 *
 * WP_ROOT is the copy's folder, WP_BASE the URL `php -S` serves it at (its wp-config.php
 * sets WP_HOME to the same). WordPress reads the host and port of the request from $_SERVER,
 * which the CLI leaves empty.
 */

$wp_root = getenv( 'WP_ROOT' );
$wp_base = getenv( 'WP_BASE' );
if ( ! $wp_root || ! $wp_base ) {
	fwrite( STDERR, "WP_ROOT and WP_BASE must be set\n" );
	exit( 2 );
}
$wp_url = parse_url( $wp_base );

$_SERVER['HTTP_HOST']       = $wp_url['host'] . ':' . $wp_url['port'];
$_SERVER['SERVER_NAME']     = $wp_url['host'];
$_SERVER['SERVER_PORT']     = (string) $wp_url['port'];
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
$_SERVER['REQUEST_METHOD']  = 'GET';
$_SERVER['REQUEST_URI']     = '/';
$_SERVER['REMOTE_ADDR']     = '127.0.0.1';

require $wp_root . '/wp-load.php';
