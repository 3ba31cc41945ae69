<?php
/**
 * Installs WordPress into the session's empty database with wp_install(), as the web
 * installer would, then adds the Author "writer" and makes Twenty Twenty-Three the theme.
 *
 * Env: WP_ROOT, WP_BASE (see load.php), WP_ADMIN_PASSWORD, WP_WRITER_PASSWORD.
 * Prints {"theme": ..., "version": ...} as JSON.
 */

define( 'WP_INSTALLING', true );

// wp_install() mails the new admin: nothing leaves this machine. (wp_mail is pluggable.)
function wp_mail( $to, $subject, $message, $headers = '', $attachments = array() ) {
	return true;
}

require __DIR__ . '/load.php';

// wp_install() probes pretty permalinks over HTTP before `php -S` runs: answer offline, at
// once, so the site keeps plain permalinks (?p=ID).
add_filter(
	'pre_http_request',
	static function () {
		return new WP_Error( 'offline', 'The test WordPress makes no request while installing.' );
	}
);

require_once ABSPATH . 'wp-admin/includes/upgrade.php';

$installed = wp_install(
	'vswidget test blog',
	'admin',
	'admin@example.com',
	false,
	'',
	wp_slash( getenv( 'WP_ADMIN_PASSWORD' ) )
);
if ( is_wp_error( $installed['user_id'] ?? null ) || empty( $installed['user_id'] ) ) {
	fwrite( STDERR, "wp_install() made no admin\n" );
	exit( 1 );
}

$writer = wp_insert_user(
	array(
		'user_login' => 'writer',
		'user_pass'  => getenv( 'WP_WRITER_PASSWORD' ),
		'user_email' => 'writer@example.com',
		'role'       => 'author',
	)
);
if ( is_wp_error( $writer ) ) {
	fwrite( STDERR, 'writer: ' . $writer->get_error_message() . "\n" );
	exit( 1 );
}

update_option( 'permalink_structure', '' );
switch_theme( 'twentytwentythree' );
$theme = wp_get_theme();
if ( ! $theme->exists() || 'twentytwentythree' !== get_stylesheet() ) {
	fwrite( STDERR, 'Twenty Twenty-Three is not usable: ' . $theme->errors()?->get_error_message() . "\n" );
	exit( 1 );
}

echo wp_json_encode(
	array(
		'theme'   => get_stylesheet(),
		'version' => get_bloginfo( 'version' ),
	)
);
