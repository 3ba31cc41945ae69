<?php
/**
 * Creates or drops the session's database on this machine's MariaDB (127.0.0.1:3306, root,
 * no password): `php database.php create|drop NAME`. It runs before WordPress exists, so it
 * loads none of it. Exit status 3: the server cannot be reached.
 */

[ , $action, $name ] = $argv + [ null, '', '' ];
if ( ! in_array( $action, [ 'create', 'drop' ], true ) || ! preg_match( '/^vswidget_wp_[0-9a-f]{8}$/', $name ) ) {
	fwrite( STDERR, "usage: php database.php create|drop vswidget_wp_HEX8\n" );
	exit( 2 );
}
if ( ! extension_loaded( 'mysqli' ) ) {
	fwrite( STDERR, "PHP has no mysqli extension: apt-get install php-mysql\n" );
	exit( 3 );
}
mysqli_report( MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT );
try {
	$db = new mysqli( '127.0.0.1', 'root', '', '', 3306 );
} catch ( mysqli_sql_exception $error ) {
	fwrite( STDERR, 'MariaDB at 127.0.0.1:3306 refused root: ' . $error->getMessage() . "\n" );
	exit( 3 );
}
$db->query(
	'create' === $action
		? "CREATE DATABASE `$name` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
		: "DROP DATABASE IF EXISTS `$name`"
);
