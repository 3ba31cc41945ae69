<?php
/**
 * Plugin Name: vswidget tests: loopback fetches
 * Description: Lets WordPress's HTTP API fetch http://127.0.0.1 on any port.
 *
 * Why it exists: the browser tests run the vswidget server and this WordPress on 127.0.0.1,
 * each on a free port. oEmbed discovery fetches with wp_safe_remote_get(), which refuses
 * private addresses and every port but 80, 443 and 8080, as it should on a real site, where
 * the comparison lives on a public host and port. This must-use plugin is the only change the
 * tests make to WordPress: tests/browser/wordpress.py copies it into the mu-plugins folder of
 * the session's copy of /usr/share/wordpress.
 */

add_filter(
	'http_request_host_is_external',
	static function ( $external, $host ) {
		return '127.0.0.1' === $host ? true : $external;
	},
	10,
	2
);

add_filter(
	'http_allowed_safe_ports',
	static function ( $ports, $host, $url ) {
		$port = parse_url( $url, PHP_URL_PORT );
		if ( '127.0.0.1' === $host && $port ) {
			$ports[] = $port;
		}
		return $ports;
	},
	10,
	3
);
