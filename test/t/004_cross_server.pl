# 004_cross_server.pl -- diffsync across two servers through postgres_fdw.
#
# Two nodes.  "local" runs diffsync (track_commit_timestamp = on) and
# postgres_fdw; "remote" is a plain PostgreSQL with tables whose columns are
# named differently and whose updated_at column is kept by a trigger of the
# remote's own.  The remote tables are imported as foreign tables and
# adapters sit on them with updated_at => 'updated_at' (commit timestamps of
# the remote are not visible through the FDW).  What the remote holds is
# always checked on the remote node itself, never through the FDW.
#
#  (a) diff, diff_summary, diff_text, load across the servers;
#  (b) one-way syncs local -> remote (creates, updates, deletes through the
#      FDW) and remote -> local, with history of the side written; an open
#      sync transaction locks only the remote rows it wrote;
#  (c) last_update_wins decided by the remote's timestamp column;
#  (d) a bidirectional engine with a base: one-sided changes, conflicts,
#      deletions, a delete/modify row conflict, history of both sides;
#  (e) the manual queue, resolve_conflict writing to the remote; history
#      of the remote rows, commit_version and restore through the FDW;
#  (f) last_update_wins over a foreign table without updated_at: 55000, the
#      hint says what to do and why;
#  (g) attach: a foreign table cannot be watched (0A000); a live engine whose
#      other side is a foreign table writes the remote in the transaction,
#      locking only the remote rows it writes;
#  (h) atomicity: a remote COMMIT that fails rolls the local side back; a
#      local commit that fails after postgres_fdw committed the remote
#      (no two-phase commit) leaves the remote written and the next sync
#      converges;
#  (i) 100,000 rows a side: timings of the cross-server diff against a
#      hand-written FULL JOIN; the remote restarted (immediate stop) in the
#      middle of a big bidirectional engine sync, and of a one-way sync with
#      continue_on_failure, gives a clean ERROR, the local backend lives, and
#      nothing partial is left on either server; the next sync converges.
#
# Every wait is bounded.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use DBI;
use DBD::Pg qw(:async);
use JSON::PP;
use Time::HiRes qw(sleep time);

# Seconds to wait for anything that should happen (a sync to start writing,
# a sync to finish).
my $WAIT = 60;

# Rows of the big tables (each side), keys only in local, only in remote,
# and keys whose attributes differ.
my $BIG = 100_000;
my $BIG_ONLY_LOCAL = 20_000;
my $BIG_ONLY_REMOTE = 20_000;
my $BIG_DIFFER = 5_000;

my $json = JSON::PP->new->canonical;

my $local = PostgreSQL::Test::Cluster->new('local');
$local->init;
$local->append_conf('postgresql.conf', "track_commit_timestamp = on\n");
$local->start;

my $remote = PostgreSQL::Test::Cluster->new('remote');
$remote->init;
$remote->start;

# connect_db: a new DBD::Pg session on $node, autocommit on.
sub connect_db
{
	my ($node) = @_;
	my $dbh = DBI->connect(
		'dbi:Pg:dbname=postgres;host=' . $node->host . ';port=' . $node->port,
		'', '',
		{ AutoCommit => 1, RaiseError => 1, PrintError => 0, PrintWarn => 0 });
	$dbh->do('SET client_min_messages = warning');
	return $dbh;
}

# value: the first column of the first row of a query.
sub value
{
	my ($dbh, $sql, @bind) = @_;
	my ($v) = $dbh->selectrow_array($sql, undef, @bind);
	return $v;
}

# jvalue: a query's single jsonb value, decoded.
sub jvalue
{
	my ($dbh, $sql, @bind) = @_;
	my $v = value($dbh, $sql, @bind);
	return defined $v ? $json->decode($v) : undef;
}

# rows: all rows of a query as arrays.
sub rows
{
	my ($dbh, $sql, @bind) = @_;
	return $dbh->selectall_arrayref($sql, undef, @bind);
}

# sql_error: run a statement that should fail; returns { state, message,
# detail, hint } of its error, or undef if it succeeded.
sub sql_error
{
	my ($dbh, $sql, @bind) = @_;
	my $ok = eval { $dbh->do($sql, undef, @bind); 1 };
	return undef if $ok;
	my $err = $dbh->errstr // $@;
	my %e = (state => $dbh->state, all => $err);
	($e{message}) = $err =~ /^ERROR:\s+(.*)$/m;
	($e{detail}) = $err =~ /^DETAIL:\s+(.*)$/m;
	($e{hint}) = $err =~ /^HINT:\s+(.*)$/m;
	$e{$_} //= '' for qw(message detail hint);
	return \%e;
}

# wait_until: call $cond every 20 ms until it returns true or $secs pass;
# returns whether it did.
sub wait_until
{
	my ($cond, $secs) = @_;
	my $deadline = time + $secs;
	while (time < $deadline)
	{
		return 1 if $cond->();
		sleep 0.02;
	}
	return $cond->() ? 1 : 0;
}

my $db = connect_db($local);
my $rdb = connect_db($remote);

# remote_items: the remote table's rows as seen on the remote node:
# [item_no, label, payload (decoded), amount], by item_no.
sub remote_items
{
	return [
		map { [ $_->[0], $_->[1], $json->decode($_->[2]), $_->[3] ] } @{
			rows($rdb, 'SELECT item_no, label, payload::text, amount FROM remote_items ORDER BY item_no')
		}
	];
}

# local_items: the local table's rows, the same shape.
sub local_items
{
	return [
		map { [ $_->[0], $_->[1], $json->decode($_->[2]), $_->[3] ] }
		  @{ rows($db, 'SELECT id, name, doc::text, qty FROM items ORDER BY id') }
	];
}

# remote_lock_probe: try to lock remote row $id FOR UPDATE on the remote
# node, waiting at most 1 s; 'free' if that worked, else the SQLSTATE.
sub remote_lock_probe
{
	my ($id) = @_;
	$rdb->do(q{SET lock_timeout = '1s'});
	my $ok = eval { $rdb->do('SELECT 1 FROM remote_items WHERE item_no = $1 FOR UPDATE', undef, $id); 1 };
	my $state = $rdb->state;
	$rdb->do('RESET lock_timeout');
	return $ok ? 'free' : $state;
}

# sync: run an SQL expression returning a sync result object; decoded.
sub sync
{
	my ($dbh, $expr) = @_;
	return jvalue($dbh, "SELECT $expr");
}

# side: the create/update/delete counts of one side of a result's summary.
sub side
{
	my ($res, $which) = @_;
	return { map { $_ => $res->{summary}{$which}{$_} } qw(create update delete) };
}

# summary_of: diff_summary of two adapters, decoded.
sub summary_of
{
	my ($src, $dst) = @_;
	return jvalue($db, 'SELECT diffsync.diff_summary($1, $2)', $src, $dst);
}

# history_of_sync: [adapter, id, version, action] of the versions a sync
# recorded, by adapter and key.
sub history_of_sync
{
	my ($sync_id) = @_;
	return rows(
		$db, q{SELECT adapter, (key->>'id')::int, version, action FROM diffsync.history
		        WHERE sync_id = $1 ORDER BY adapter, (key->>'id')::int}, $sync_id);
}

#
# Setup.  Remote: tables with other column names, updated_at kept by a
# BEFORE trigger, a deferred constraint trigger that refuses the label
# "poison" at COMMIT.  Local: the diffsync and postgres_fdw extensions, a
# server and user mapping for the remote, the remote tables imported into
# schema "remote".
#
$rdb->do($_) for (
	q{CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS
	  $$BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END$$},
	q{CREATE TABLE remote_items (item_no int PRIMARY KEY, label text NOT NULL,
	      payload jsonb NOT NULL DEFAULT '{}', amount int,
	      updated_at timestamptz NOT NULL DEFAULT clock_timestamp())},
	q{CREATE TRIGGER touch BEFORE INSERT OR UPDATE ON remote_items
	      FOR EACH ROW EXECUTE FUNCTION touch_updated_at()},
	q{CREATE FUNCTION no_poison() RETURNS trigger LANGUAGE plpgsql AS
	  $$BEGIN
	      IF NEW.label = 'poison' THEN
	          RAISE EXCEPTION 'label "poison" refused at commit' USING ERRCODE = '23514';
	      END IF;
	      RETURN NULL;
	  END$$},
	q{CREATE CONSTRAINT TRIGGER no_poison AFTER INSERT OR UPDATE ON remote_items
	      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION no_poison()},
	q{CREATE TABLE big_remote (rid int PRIMARY KEY, val text NOT NULL, n int NOT NULL,
	      updated_at timestamptz NOT NULL DEFAULT clock_timestamp())},
	q{CREATE TRIGGER touch BEFORE INSERT OR UPDATE ON big_remote
	      FOR EACH ROW EXECUTE FUNCTION touch_updated_at()});

$db->do($_) for (
	'CREATE EXTENSION diffsync',
	'CREATE EXTENSION postgres_fdw',
	"CREATE SERVER remote_srv FOREIGN DATA WRAPPER postgres_fdw
	     OPTIONS (host '" . $remote->host . "', port '" . $remote->port . "', dbname 'postgres')",
	'CREATE USER MAPPING FOR CURRENT_USER SERVER remote_srv',
	'CREATE SCHEMA remote',
	'IMPORT FOREIGN SCHEMA public LIMIT TO (remote_items, big_remote) FROM SERVER remote_srv INTO remote',
	q{CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL,
	                      doc jsonb NOT NULL DEFAULT '{}', qty int)},
	q{SELECT diffsync.create_adapter('loc', 'items', '{id}')},
	q{SELECT diffsync.create_adapter('rem', 'remote.remote_items', '{id}',
	      columns => '{"id": "item_no", "name": "label", "doc": "payload", "qty": "amount"}',
	      updated_at => 'updated_at')},
	q{SELECT diffsync.create_adapter('rem_nots', 'remote.remote_items', '{id}', '{name,doc,qty}',
	      columns => '{"id": "item_no", "name": "label", "doc": "payload", "qty": "amount"}')});

is_deeply(
	rows($db, q{SELECT name, attributes::text, updated_at FROM diffsync.adapters ORDER BY name}),
	[
		[ 'loc', '{name,doc,qty}', 'commit timestamp' ],
		[ 'rem', '{name,doc,qty}', 'updated_at' ],
		[ 'rem_nots', '{name,doc,qty}', undef ]
	],
	'setup: adapters on the local table and on the foreign table (renamed columns, updated_at)');

#
# (a) diff across servers.
#
$db->do(q{INSERT INTO items VALUES (1, 'one', '{"a": 1}', 10), (2, 'two', '{"a": 2}', 20),
                                   (3, 'three', '{"a": 3}', 30)});
$rdb->do(q{INSERT INTO remote_items (item_no, label, payload, amount) VALUES
           (2, 'two', '{"a": 2, "b": true}', 20), (3, 'THREE', '{"a": 3}', 30), (4, 'four', '{"a": 4}', 40)});

my $diff = rows(
	$db, q{SELECT key::text, action, source::text, target::text, changes::text
	       FROM diffsync.diff('loc', 'rem') ORDER BY key});
is_deeply(
	[ map { [ $json->decode($_->[0])->{id}, $_->[1] ] } @$diff ],
	[ [ 1, 'create' ], [ 2, 'update' ], [ 3, 'update' ], [ 4, 'delete' ] ],
	'(a) diff: 1 only local (create), 2 and 3 differ (update), 4 only remote (delete)');
is_deeply(
	[ map { defined $_->[4] ? $json->decode($_->[4]) : undef } @$diff ],
	[
		undef,
		{
			doc => {
				source => { a => 2 },
				target => { a => 2, b => JSON::PP::true },
				patch => [ { op => 'remove', path => '/b' } ]
			}
		},
		{ name => { source => 'three', target => 'THREE' } },
		undef
	],
	"(a) diff: the changes name the remote's renamed columns by field, with a patch for jsonb");
is_deeply(
	$json->decode($diff->[3][3]),
	{ id => 4, name => 'four', doc => { a => 4 }, qty => 40 },
	'(a) diff: the remote row is a model row (fields, not remote column names)');
is_deeply(summary_of('loc', 'rem'),
	{ create => 1, update => 2, delete => 1, 'no-change' => 0, skip => 0 },
	'(a) diff_summary across servers');
my $text = value($db, q{SELECT diffsync.diff_text('loc', 'rem')});
like($text, qr/\{"id": 1\}: MISSING in target/, '(a) diff_text: key 1 missing in the remote');
like($text, qr/\{"id": 4\}: MISSING in source/, '(a) diff_text: key 4 missing locally');
is_deeply(
	rows(
		$db, q{SELECT (key->>'id')::int, (extract(epoch FROM updated_at) * 1e6)::int8
		       FROM diffsync.load('rem') ORDER BY 1}),
	rows(
		$rdb, q{SELECT item_no, (extract(epoch FROM updated_at) * 1e6)::int8
		        FROM remote_items ORDER BY 1}),
	"(a) load over the foreign table: last-update times are the remote's updated_at column");

#
# (b) One-way syncs.
#
my $res = sync($db, q{diffsync.sync('loc', 'rem', 'source_to_target', 'source_wins')});
is_deeply(
	[ side($res, 'target'), side($res, 'source'), $res->{success} ? 1 : 0 ],
	[ { create => 1, update => 2, delete => 1 }, { create => 0, update => 0, delete => 0 }, 1 ],
	'(b) local -> remote: one create, two updates, one delete written to the foreign table');
is_deeply(
	remote_items(),
	[ [ 1, 'one', { a => 1 }, 10 ], [ 2, 'two', { a => 2 }, 20 ], [ 3, 'three', { a => 3 }, 30 ] ],
	'(b) the remote node holds exactly the local rows (checked on the remote)');
is_deeply(
	history_of_sync($res->{sync_id}),
	[ [ 'rem', 1, 1, 'create' ], [ 'rem', 2, 1, 'update' ], [ 'rem', 3, 1, 'update' ], [ 'rem', 4, 1, 'delete' ] ],
	'(b) history: a version of every remote row written, under the remote adapter');
is_deeply(
	jvalue($db, q{SELECT patch FROM diffsync.history WHERE adapter = 'rem' AND key = '{"id": 2}'}),
	[ { op => 'remove', path => '/doc/b' } ],
	'(b) history: the update of remote key 2 is stored as a patch from the remote row it replaced');
is_deeply(
	[ $res->{target_version}{versions}, $res->{source_version} ],
	[ 4, undef ],
	'(b) the result links the 4 versions recorded for the remote side');
is(summary_of('loc', 'rem')->{'no-change'}, 3, '(b) afterwards the two servers agree');

# A sync that updates one remote row, its transaction still open: a remote
# session locking another row must not wait for it.
$db->begin_work;
$db->do(q{UPDATE items SET qty = 11 WHERE id = 1});
$res = sync($db, q{diffsync.sync('loc', 'rem', 'source_to_target', 'source_wins')});
is_deeply(side($res, 'target'), { create => 0, update => 1, delete => 0 },
	'(b) lock probe: an open sync transaction that updated remote row 1');
is(remote_lock_probe(2), 'free',
	'(b) ... leaves remote row 2 free for remote writers (only the rows written are locked)');
$db->rollback;

$rdb->do($_) for (
	q{INSERT INTO remote_items (item_no, label, payload, amount) VALUES (5, 'five', '{"a": 5}', 50)},
	q{UPDATE remote_items SET label = 'ONE' WHERE item_no = 1},
	q{DELETE FROM remote_items WHERE item_no = 3});
$res = sync($db, q{diffsync.sync('rem', 'loc', 'source_to_target', 'source_wins')});
is_deeply(side($res, 'target'), { create => 1, update => 1, delete => 1 },
	'(b) remote -> local: one create, one update, one delete');
is_deeply(
	local_items(),
	[ [ 1, 'ONE', { a => 1 }, 10 ], [ 2, 'two', { a => 2 }, 20 ], [ 5, 'five', { a => 5 }, 50 ] ],
	'(b) the local table holds exactly the remote rows');
is_deeply(
	history_of_sync($res->{sync_id}),
	[ [ 'loc', 1, 1, 'update' ], [ 'loc', 3, 1, 'delete' ], [ 'loc', 5, 1, 'create' ] ],
	'(b) history: a version of every local row written, under the local adapter');

# target_to_source with last_update_wins: the remote row is newer.
$rdb->do(q{UPDATE remote_items SET amount = 21 WHERE item_no = 2});
$res = sync($db, q{diffsync.sync('loc', 'rem', 'target_to_source', 'last_update_wins')});
is_deeply(
	[ side($res, 'source'), value($db, 'SELECT qty FROM items WHERE id = 2') ],
	[ { create => 0, update => 1, delete => 0 }, 21 ],
	"(b) target_to_source, last_update_wins: the remote's newer updated_at wins, the local row is updated");

#
# (c) last_update_wins across servers without a base: commit timestamps
# locally, the updated_at column remotely.  Key 1 changed locally, then
# remotely (remote newer); key 2 remotely, then locally (local newer).
#
$db->do(q{UPDATE items SET qty = 100 WHERE id = 1});
$rdb->do(q{UPDATE remote_items SET amount = 101 WHERE item_no = 1});
$rdb->do(q{UPDATE remote_items SET amount = 200 WHERE item_no = 2});
$db->do(q{UPDATE items SET qty = 201 WHERE id = 2});
my $r1_ts = value($rdb, q{SELECT updated_at FROM remote_items WHERE item_no = 1});
my $l2_ts = value($db, q{SELECT pg_xact_commit_timestamp(xmin) FROM items WHERE id = 2});
$res = sync($db, q{diffsync.sync('loc', 'rem', 'bidirectional', 'last_update_wins')});
my %conf = map { $_->{key}{id} => $_ } @{ $res->{conflicts} };
is_deeply(
	[ map { [ $_, $conf{$_}{attribute}, $conf{$_}{resolution} ] } sort keys %conf ],
	[ [ 1, 'qty', 'target' ], [ 2, 'qty', 'source' ] ],
	'(c) last_update_wins: key 1 goes to the remote (newer updated_at), key 2 to local (newer commit)');
ok( value(
		$db, 'SELECT $1::timestamptz = $2::timestamptz AND $3::timestamptz = $4::timestamptz',
		$conf{1}{target_timestamp}, $r1_ts, $conf{2}{source_timestamp}, $l2_ts),
	"(c) the conflicts carry the remote row's updated_at and the local row's commit timestamp");
is_deeply(
	[ value($db, 'SELECT qty FROM items WHERE id = 1'), value($rdb, 'SELECT amount FROM remote_items WHERE item_no = 2') ],
	[ 101, 201 ],
	'(c) the older side of each key got the newer value (local key 1, remote key 2)');

#
# (d) A bidirectional engine with a base.
#
$db->do(q{INSERT INTO items VALUES (6, 'six', '{"a": 6}', 60), (8, 'eight', '{"a": 8}', 80)});
$rdb->do(q{INSERT INTO remote_items (item_no, label, payload, amount) VALUES (7, 'seven', '{"a": 7}', 70)});
$db->do(q{SELECT diffsync.create_engine('bi', 'loc', 'rem', 'bidirectional', 'last_update_wins')});
$res = sync($db, q{diffsync.sync_engine('bi')});
is_deeply(
	[ side($res, 'source'), side($res, 'target') ],
	[ { create => 1, update => 0, delete => 0 }, { create => 2, update => 0, delete => 0 } ],
	"(d) the engine's first sync: key 7 created locally, keys 6 and 8 on the remote, nothing deleted");
is(value($db, q{SELECT count(*) FROM diffsync.engine_base WHERE engine = 'bi'}),
	6, '(d) the base holds the six keys');

$db->do(q{UPDATE items SET name = 'FIVE' WHERE id = 5});
$rdb->do(q{UPDATE remote_items SET payload = '{"a": 8, "r": 1}' WHERE item_no = 8});
$db->do(q{UPDATE items SET qty = 111 WHERE id = 1});
$rdb->do(q{UPDATE remote_items SET amount = 112 WHERE item_no = 1});
$rdb->do(q{UPDATE remote_items SET amount = 221 WHERE item_no = 2});
$db->do(q{UPDATE items SET qty = 222 WHERE id = 2});
$rdb->do(q{DELETE FROM remote_items WHERE item_no = 7});
$db->do(q{DELETE FROM items WHERE id = 6});
$rdb->do(q{UPDATE remote_items SET payload = '{"a": 6, "r": 1}' WHERE item_no = 6});
$res = sync($db, q{diffsync.sync_engine('bi')});
is_deeply(
	[ side($res, 'source'), side($res, 'target') ],
	[ { create => 1, update => 2, delete => 1 }, { create => 0, update => 2, delete => 0 } ],
	'(d) second sync: local gets 6 back, 8 and 1 updated, 7 deleted; the remote gets 5 and 2');
%conf = map { $_->{key}{id} => $_ } @{ $res->{conflicts} };
is_deeply(
	[ map { [ $_, $conf{$_}{kind}, $conf{$_}{resolution} ] } sort keys %conf ],
	[ [ 1, 'modify/modify', 'target' ], [ 2, 'modify/modify', 'source' ], [ 6, 'delete/modify', 'target' ] ],
	'(d) conflicts: only keys changed on both sides; the delete/modify of 6 keeps the modified remote row');
my $expect = [
	[ 1, 'ONE', { a => 1 }, 112 ],
	[ 2, 'two', { a => 2 }, 222 ],
	[ 5, 'FIVE', { a => 5 }, 50 ],
	[ 6, 'six', { a => 6, r => 1 }, 60 ],
	[ 8, 'eight', { a => 8, r => 1 }, 80 ]
];
is_deeply(local_items(), $expect, '(d) local rows after the engine sync');
is_deeply(remote_items(), $expect, '(d) remote rows after the engine sync (on the remote node)');
is_deeply(
	history_of_sync($res->{sync_id}),
	[
		[ 'loc', 1, 3, 'update' ], [ 'loc', 6, 1, 'create' ], [ 'loc', 7, 2, 'delete' ], [ 'loc', 8, 1, 'update' ],
		[ 'rem', 2, 3, 'update' ], [ 'rem', 5, 1, 'update' ]
	],
	'(d) history: versions of both sides, numbered on from earlier versions');
is(value($db, 'SELECT count(DISTINCT engine) FROM diffsync.history WHERE sync_id = $1 AND engine = $2',
		$res->{sync_id}, 'bi'),
	1, '(d) history: the versions name the engine');
is_deeply(
	[ map { [ $_->[0], $json->decode($_->[1]) ] }
		  @{ rows($db, q{SELECT (key->>'id')::int, state::text FROM diffsync.engine_base WHERE engine = 'bi' ORDER BY 1}) } ],
	[ map { [ $_->[0], { id => $_->[0], name => $_->[1], doc => $_->[2], qty => $_->[3] } ] } @$expect ],
	'(d) the base is the synced state of each key');
$res = sync($db, q{diffsync.sync_engine('bi')});
is_deeply(
	[ side($res, 'source'), side($res, 'target'), $res->{summary}{conflicts} ],
	[ { create => 0, update => 0, delete => 0 }, { create => 0, update => 0, delete => 0 }, 0 ],
	'(d) a third sync has nothing to do');
$db->do(q{SELECT diffsync.drop_engine('bi')});

#
# (e) The manual queue, resolved onto the remote.
#
$db->do(q{SELECT diffsync.create_engine('man', 'loc', 'rem', 'bidirectional', 'manual')});
sync($db, q{diffsync.sync_engine('man')});
$db->do(q{UPDATE items SET name = 'two-L' WHERE id = 2});
$rdb->do(q{UPDATE remote_items SET label = 'two-R' WHERE item_no = 2});
$db->do(q{UPDATE items SET qty = 55 WHERE id = 5});
$rdb->do(q{UPDATE remote_items SET amount = 56 WHERE item_no = 5});
$db->do(q{UPDATE items SET name = 'eight-L' WHERE id = 8});
$res = sync($db, q{diffsync.sync_engine('man')});
is_deeply(
	[ $res->{summary}{queued}, side($res, 'target'), side($res, 'source') ],
	[ 2, { create => 0, update => 1, delete => 0 }, { create => 0, update => 0, delete => 0 } ],
	'(e) manual: two conflicts queued; the one-sided change of key 8 still reaches the remote');
is_deeply(
	rows($rdb, 'SELECT item_no, label, amount FROM remote_items WHERE item_no IN (2, 5, 8) ORDER BY 1'),
	[ [ 2, 'two-R', 222 ], [ 5, 'FIVE', 56 ], [ 8, 'eight-L', 80 ] ],
	'(e) the conflicting keys are untouched on the remote; key 8 was written');
is_deeply(
	rows($db, 'SELECT id, name, qty FROM items WHERE id IN (2, 5) ORDER BY 1'),
	[ [ 2, 'two-L', 222 ], [ 5, 'FIVE', 55 ] ],
	'(e) ... and locally');
my %cid = map { $_->[0] => $_->[1] } @{
	rows($db, q{SELECT (key->>'id')::int, conflict_id FROM diffsync.conflicts
	            WHERE engine = 'man' AND status = 'open'})
};
is_deeply([ sort keys %cid ], [ 2, 5 ], '(e) diffsync.conflicts holds the two open conflicts');

$db->do('SELECT diffsync.resolve_conflict($1, $2)', undef, $cid{2}, 'source');
is(value($rdb, 'SELECT label FROM remote_items WHERE item_no = 2'),
	'two-L', "(e) resolve_conflict 'source' wrote the local value to the remote");
is_deeply(
	rows($db, q{SELECT action, message FROM diffsync.history WHERE adapter = 'rem' AND key = '{"id": 2}'
	            ORDER BY version DESC LIMIT 1}),
	[ [ 'update', "resolution of conflict $cid{2}" ] ],
	'(e) the remote write of the resolution has a history version');
$db->do('SELECT diffsync.resolve_conflict($1, $2, $3)', undef, $cid{5}, 'value', '57');
is_deeply(
	[ value($db, 'SELECT qty FROM items WHERE id = 5'), value($rdb, 'SELECT amount FROM remote_items WHERE item_no = 5') ],
	[ 57, 57 ],
	"(e) resolve_conflict with a value wrote it to both servers");
is(sql_error($db, 'SELECT diffsync.resolve_conflict($1, $2)', $cid{5}, 'target')->{state},
	'55000', '(e) resolving it again is 55000');
$res = sync($db, q{diffsync.sync_engine('man')});
is_deeply(
	[ side($res, 'source'), side($res, 'target'), $res->{summary}{conflicts} ],
	[ { create => 0, update => 0, delete => 0 }, { create => 0, update => 0, delete => 0 }, 0 ],
	"(e) after the resolutions the engine's next sync has nothing to do (base updated)");
$db->do(q{SELECT diffsync.drop_engine('man')});

# History of the remote side: rebuilt states, a snapshot and a restore
# written back through the foreign table.
is_deeply(
	[ map { [ $_->[0], $_->[1], $json->decode($_->[2]) ] }
		  @{ rows($db, q{SELECT version, action, state::text FROM diffsync.history('rem', '{"id": 2}') ORDER BY version}) } ],
	[
		[ 1, 'update', { id => 2, name => 'two', doc => { a => 2 }, qty => 20 } ],
		[ 2, 'update', { id => 2, name => 'two', doc => { a => 2 }, qty => 201 } ],
		[ 3, 'update', { id => 2, name => 'two', doc => { a => 2 }, qty => 222 } ],
		[ 4, 'update', { id => 2, name => 'two-L', doc => { a => 2 }, qty => 222 } ]
	],
	'(e) history of remote key 2: every version diffsync wrote there, states rebuilt from the patches');
is(value($db, q{SELECT diffsync.commit_version('rem', '{"id": 2}', 'snapshot of the remote row')}),
	5, '(e) commit_version reads the remote row (version 5)');
is_deeply(jvalue($db, q{SELECT diffsync.restore('rem', '{"id": 2}', 1)}),
	{ id => 2, name => 'two', doc => { a => 2 }, qty => 20 },
	'(e) restore of remote key 2 to version 1');
is_deeply(rows($rdb, 'SELECT label, payload::text, amount FROM remote_items WHERE item_no = 2'),
	[ [ 'two', '{"a": 2}', 20 ] ], '(e) ... is written to the remote');
is_deeply(
	rows($db, q{SELECT version, action, message FROM diffsync.history WHERE adapter = 'rem' AND key = '{"id": 2}'
	            AND version >= 5 ORDER BY version}),
	[ [ 5, 'commit', 'snapshot of the remote row' ], [ 6, 'restore', 'restore of version 1' ] ],
	'(e) ... and recorded as versions 5 (commit) and 6 (restore)');
$res = sync($db, q{diffsync.sync('loc', 'rem', 'source_to_target', 'source_wins')});
is_deeply([ side($res, 'target'), value($rdb, 'SELECT label FROM remote_items WHERE item_no = 2') ],
	[ { create => 0, update => 1, delete => 0 }, 'two-L' ],
	'(e) a sync puts the local row back on the remote');

#
# (f) last_update_wins over a foreign table without updated_at.
#
my $e = sql_error($db, q{SELECT diffsync.sync('loc', 'rem_nots', 'bidirectional', 'last_update_wins')});
is($e && $e->{state}, '55000', '(f) last_update_wins with a foreign-table adapter lacking updated_at: 55000');
like($e && $e->{hint}, qr/updated_at/, '(f) the hint names updated_at');
like($e && $e->{hint}, qr/foreign table|commit timestamp/i,
	'(f) the hint says why: a foreign table shows no (remote) commit timestamps')
  or diag("error was: " . ($e ? $e->{all} : 'none'));
is(sql_error($db, q{SELECT diffsync.sync('loc', 'rem_nots', 'bidirectional', 'merge')})->{state},
	'55000', '(f) so does merge');
is(sql_error($db, q{SELECT diffsync.create_engine('nots', 'loc', 'rem_nots')})->{state},
	'55000', '(f) and creating a last_update_wins engine over it');
$res = sync($db, q{diffsync.sync('loc', 'rem_nots', 'bidirectional', 'source_wins')});
ok($res->{success} && $res->{summary}{'no-change'} == 5,
	'(f) the same adapter syncs with a strategy that needs no time');

#
# (g) attach.
#
$db->do(q{SELECT diffsync.create_engine('watch_remote', 'rem', 'loc', 'source_to_target', 'source_wins')});
$db->do(q{SELECT diffsync.create_engine('watch_both', 'loc', 'rem', 'bidirectional', 'last_update_wins')});
$e = sql_error($db, q{SELECT diffsync.attach('watch_remote')});
is($e && $e->{state}, '0A000', '(g) attach of an engine that watches the foreign table: 0A000');
like($e && $e->{message}, qr/remote\.remote_items/, '(g) the error names the foreign table');
is(sql_error($db, q{SELECT diffsync.attach('watch_both')})->{state},
	'0A000', '(g) a bidirectional engine over a foreign table cannot be attached either');

$db->do(q{SELECT diffsync.create_engine('live', 'loc', 'rem', 'source_to_target', 'last_update_wins')});
$db->do(q{SELECT diffsync.attach('live')});
$db->do(q{INSERT INTO items VALUES (9, 'nine', '{"a": 9}', 90)});
is_deeply(rows($rdb, 'SELECT label, amount FROM remote_items WHERE item_no = 9'),
	[ [ 'nine', 90 ] ], '(g) live engine local -> foreign table: an INSERT reaches the remote');
$db->do(q{UPDATE items SET qty = qty + 1 WHERE id IN (1, 9)});
is_deeply(rows($rdb, 'SELECT item_no, amount FROM remote_items WHERE item_no IN (1, 9) ORDER BY 1'),
	[ [ 1, 113 ], [ 9, 91 ] ], '(g) ... an UPDATE of two rows');
$db->do(q{DELETE FROM items WHERE id = 9});
is(value($rdb, 'SELECT count(*) FROM remote_items WHERE item_no = 9'), 0, '(g) ... a DELETE');
$db->begin_work;
$db->do(q{UPDATE items SET qty = 1000 WHERE id = 1});
is(remote_lock_probe(2), 'free',
	'(g) a live UPDATE of local row 1 (transaction open) leaves remote row 2 free for remote writers');
my $w2 = connect_db($local);
$w2->begin_work;
$w2->do(q{UPDATE items SET qty = 2000 WHERE id = 2}, { pg_async => PG_ASYNC });
my $w2_free = wait_until(sub { $w2->pg_ready }, 2);
$db->rollback;
wait_until(sub { $w2->pg_ready }, $WAIT);
my $w2_ok = eval { $w2->pg_result; 1 };
$w2->rollback;
$w2->disconnect;
ok($w2_free && $w2_ok,
	'(g) ... and a concurrent live UPDATE of local row 2 does not wait for that transaction');
$db->begin_work;
$db->do(q{INSERT INTO items VALUES (10, 'ten', '{}', 100)});
$db->rollback;
is(value($rdb, 'SELECT count(*) FROM remote_items WHERE item_no = 10'),
	0, '(g) a rolled-back local INSERT leaves the remote untouched');
is_deeply(
	rows($db, q{SELECT version, action, engine FROM diffsync.history WHERE adapter = 'rem' AND key = '{"id": 9}'
	            ORDER BY version}),
	[ [ 1, 'create', 'live' ], [ 2, 'update', 'live' ], [ 3, 'delete', 'live' ] ],
	'(g) history of the remote rows the live engine wrote');
my $hist_before = value($db, 'SELECT count(*) FROM diffsync.history');
$e = sql_error($db, q{INSERT INTO items VALUES (11, 'poison', '{}', 110)});
is($e && $e->{state}, '23514', "(g) a live write the remote refuses at COMMIT fails the local statement's commit");
is_deeply(
	[ value($db, 'SELECT count(*) FROM items WHERE id = 11'), value($db, 'SELECT count(*) FROM diffsync.history') ],
	[ 0, $hist_before ],
	'(g) ... and the local row and its history are rolled back');
$db->do(q{SELECT diffsync.detach('live')});
$db->do(q{SELECT diffsync.drop_engine(name) FROM diffsync.engine WHERE name IN ('live', 'watch_remote', 'watch_both')});

#
# (h) Atomicity with the remote commit.
#
# A bidirectional sync that writes both servers; the remote refuses its
# write at COMMIT (deferred trigger): postgres_fdw commits the remote before
# the local commit, so the local side never commits.
$rdb->do(q{INSERT INTO remote_items (item_no, label, payload, amount) VALUES (12, 'twelve', '{}', 120)});
$db->do(q{INSERT INTO items VALUES (13, 'poison', '{}', 130)});
my %before = (
	history => value($db, 'SELECT count(*) FROM diffsync.history'),
	syncs => value($db, 'SELECT count(*) FROM diffsync.syncs'));
$e = sql_error($db, q{SELECT diffsync.sync('loc', 'rem', 'bidirectional', 'source_wins')});
is($e && $e->{state}, '23514', '(h) the remote refusing the sync at COMMIT is an error of the sync');
like($e && $e->{all}, qr/COMMIT TRANSACTION/, '(h) ... raised by the remote COMMIT');
is_deeply(
	[
		value($db, 'SELECT count(*) FROM items WHERE id = 12'),
		value($db, 'SELECT count(*) FROM diffsync.history'),
		value($db, 'SELECT count(*) FROM diffsync.syncs'),
		value($rdb, 'SELECT count(*) FROM remote_items WHERE item_no = 13')
	],
	[ 0, $before{history}, $before{syncs}, 0 ],
	'(h) nothing of it is left: no local row 12, no history, no sync record, no remote row 13');
$db->do(q{UPDATE items SET name = 'thirteen' WHERE id = 13});
$res = sync($db, q{diffsync.sync('loc', 'rem', 'bidirectional', 'source_wins')});
ok($res->{success} && summary_of('loc', 'rem')->{'no-change'} == 7,
	'(h) with the row fixed, the next sync converges');

# The window postgres_fdw leaves open: the local commit fails after the
# remote committed (here a serialization failure detected at commit, after
# postgres_fdw's pre-commit COMMIT of the remote).  The remote keeps the
# write, the local side (sync record) does not, the next sync converges.
$db->do(q{CREATE TABLE skew (k int)});
$db->do(q{INSERT INTO items VALUES (14, 'fourteen', '{}', 140)});
my $other = connect_db($local);
$before{syncs} = value($db, 'SELECT count(*) FROM diffsync.syncs');
$db->begin_work;
$db->do('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE');
$other->begin_work;
$other->do('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE');
$res = sync($db, q{diffsync.sync('loc', 'rem', 'source_to_target', 'source_wins', '{"history": false}')});
$db->do('SELECT count(*) FROM skew WHERE k = 1');
$other->do('SELECT count(*) FROM skew WHERE k = 2');
$db->do('INSERT INTO skew VALUES (2)');
$other->do('INSERT INTO skew VALUES (1)');
$other->commit;
my $ok = eval { $db->commit; 1 };
my $state = $db->state;
$db->rollback if !$ok && !$db->{AutoCommit};
is_deeply([ side($res, 'target'), $ok ? 'committed' : $state ],
	[ { create => 1, update => 0, delete => 0 }, '40001' ],
	'(h) a sync whose local COMMIT fails after the remote was written (serialization failure at commit)');
is_deeply(
	[ value($rdb, 'SELECT count(*) FROM remote_items WHERE item_no = 14'), value($db, 'SELECT count(*) FROM diffsync.syncs') ],
	[ 1, $before{syncs} ],
	'(h) limit: postgres_fdw already committed the remote (row 14 there), the local sync record is gone');
$res = sync($db, q{diffsync.sync('loc', 'rem', 'source_to_target', 'source_wins')});
is_deeply([ side($res, 'target'), summary_of('loc', 'rem')->{'no-change'} ],
	[ { create => 0, update => 0, delete => 0 }, 8 ],
	'(h) the next sync converges without writing anything');
$other->disconnect;

#
# (i) 100,000 rows a side: timings, then the remote restarted in the middle
# of a big engine sync.  Local rows first, remote rows later, so the remote
# is newer on the keys that differ.
#
$db->do(q{CREATE TABLE big_local (id int PRIMARY KEY, val text NOT NULL, n int NOT NULL)});
$db->do(
	qq{INSERT INTO big_local SELECT g, 'v' || g, g FROM generate_series(1, $BIG) g});
$rdb->do(
	qq{INSERT INTO big_remote (rid, val, n)
	   SELECT g, 'v' || g, CASE WHEN g <= $BIG_DIFFER THEN g + 1 ELSE g END
	     FROM generate_series(1, @{[ $BIG - $BIG_ONLY_LOCAL ]}) g
	   UNION ALL
	   SELECT g, 'v' || g, g FROM generate_series($BIG + 1, $BIG + $BIG_ONLY_REMOTE) g});
$db->do('ANALYZE big_local');
$rdb->do('ANALYZE big_remote');
$db->do(q{SELECT diffsync.create_adapter('bigl', 'big_local', '{id}')});
$db->do(q{SELECT diffsync.create_adapter('bigr', 'remote.big_remote', '{id}', columns => '{"id": "rid"}',
                                         updated_at => 'updated_at')});

my $expect_big = {
	create => $BIG_ONLY_LOCAL,
	delete => $BIG_ONLY_REMOTE,
	update => $BIG_DIFFER,
	'no-change' => $BIG - $BIG_ONLY_LOCAL - $BIG_DIFFER,
	skip => 0
};
# timed: seconds a query takes (the first column of its first row kept in $$out).
sub timed
{
	my ($sql, $out) = @_;
	my $t0 = time;
	my $v = value($db, $sql);
	$$out = $v if $out;
	return time - $t0;
}
my $hand_sql = q{SELECT count(*) FROM big_local l FULL JOIN remote.big_remote r ON r.rid = l.id
                 WHERE l.id IS NULL OR r.rid IS NULL OR (l.val, l.n) IS DISTINCT FROM (r.val, r.n)};
my ($sum, $hand);
timed(q{SELECT count(*) FROM remote.big_remote});    # warm the connection and caches
my $t_sum = timed(q{SELECT diffsync.diff_summary('bigl', 'bigr')}, \$sum);
my $t_hand = timed($hand_sql, \$hand);
my $ndiff;
my $t_rows = timed(q{SELECT count(*) FROM diffsync.diff('bigl', 'bigr')}, \$ndiff);
$db->do(q{ALTER SERVER remote_srv OPTIONS (ADD fetch_size '10000')});
my $t_sum_fs = timed(q{SELECT diffsync.diff_summary('bigl', 'bigr')});
my $t_hand_fs = timed($hand_sql);
$db->do(q{ALTER SERVER remote_srv OPTIONS (DROP fetch_size)});
is_deeply($json->decode($sum), $expect_big,
	"(i) diff_summary of $BIG rows a side across the servers");
is_deeply([ $ndiff, $hand ], [ ($BIG_ONLY_LOCAL + $BIG_ONLY_REMOTE + $BIG_DIFFER) x 2 ],
	'(i) diff returns as many rows as the hand-written FULL JOIN counts');
diag(sprintf(
		'cross-server diff of %d rows a side (%d differing): diff_summary %.2f s, diff rows %.2f s, '
		  . 'hand-written FULL JOIN %.2f s (ratio %.2f); with fetch_size 10000: %.2f s vs %.2f s (ratio %.2f)',
		$BIG, $BIG_ONLY_LOCAL + $BIG_ONLY_REMOTE + $BIG_DIFFER,
		$t_sum, $t_rows, $t_hand, $t_sum / $t_hand, $t_sum_fs, $t_hand_fs, $t_sum_fs / $t_hand_fs));

# The remote is stopped (immediate: a crash) and started again while a big
# sync runs in a background session and writes to both servers.
my $snap_sql = q{SELECT jsonb_build_object(
	'big_local', (SELECT count(*) || ':' || sum(hashtext(id || val || n)) FROM big_local),
	'history', (SELECT count(*) FROM diffsync.history),
	'commit_log', (SELECT count(*) FROM diffsync.commit_log),
	'syncs', (SELECT count(*) FROM diffsync.syncs),
	'base', (SELECT count(*) FROM diffsync.engine_base WHERE engine = 'big'),
	'conflicts', (SELECT count(*) FROM diffsync.conflicts),
	'last_sync_id', (SELECT last_sync_id FROM diffsync.engine WHERE name = 'big'))};
my $postmaster_start = value($db, 'SELECT pg_postmaster_start_time()');
my $listen = connect_db($local);
$listen->do('LISTEN diffsync');
my $bg = connect_db($local);
my $bg_pid = value($bg, 'SELECT pg_backend_pid()');
my @events;

# events: the "synchronized" events received so far (waits 0.3 s).
sub events
{
	wait_until(sub { while (my $n = $listen->pg_notifies) { push @events, $n } 0 }, 0.3);
	return grep { $_->[2] =~ /"synchronized"/ } splice(@events);
}

# restart_during: run $sql in the background session, restart the remote
# once the sync writes to both servers, and check that the sync failed
# cleanly and left nothing behind.  Returns seconds into the sync at which
# the remote was stopped.
sub restart_during
{
	my ($sql, $what) = @_;
	my $snap = jvalue($db, $snap_sql);
	my $remote_rows = value($rdb, 'SELECT count(*) FROM big_remote');
	my $history_size = value($db, q{SELECT pg_relation_size('diffsync.history_versions')});
	my $big_local_size = value($db, q{SELECT pg_relation_size('big_local')});
	my $t_start = time;
	$bg->do($sql, { pg_async => PG_ASYNC });

	# Writing to the remote: the session postgres_fdw opened there has an
	# xid; writing locally: history (or the local table) grew.
	my ($remote_writing, $local_writing) = (0, 0);
	my $caught = wait_until(
		sub {
			return 0 if $bg->pg_ready;
			$remote_writing ||= value(
				$rdb, q{SELECT count(*) FROM pg_stat_activity
				        WHERE application_name = 'postgres_fdw' AND backend_xid IS NOT NULL});
			$local_writing ||= value($db, q{SELECT pg_relation_size('diffsync.history_versions')}) > $history_size
			  || value($db, q{SELECT pg_relation_size('big_local')}) > $big_local_size;
			return $remote_writing && $local_writing;
		},
		$WAIT);
	my $t_restart = time - $t_start;
	ok($caught,
		sprintf('(i) %s: it was writing both servers when the remote was stopped (%.2f s in)', $what, $t_restart));
	$rdb->disconnect;
	$remote->stop('immediate');
	$remote->start;
	$rdb = connect_db($remote);

	ok(wait_until(sub { $bg->pg_ready }, $WAIT), "(i) $what: the interrupted sync returned");
	my $bg_ok = eval { $bg->pg_result; 1 };
	my ($bg_state, $bg_err) = ($bg->state, $bg->errstr // '');
	ok(!$bg_ok, "(i) $what: it failed");
	like($bg_state, qr/^(08|57P)/, "(i) $what: with a connection-class SQLSTATE ($bg_state)")
	  or diag($bg_err);
	like($bg_err, qr/^ERROR:/m, "(i) $what: as a plain ERROR");
	is_deeply(
		[ value($bg, 'SELECT pg_backend_pid()'), value($db, 'SELECT pg_postmaster_start_time()') ],
		[ $bg_pid, $postmaster_start ],
		"(i) $what: the local backend survived (same session, no local crash restart)");
	is_deeply(jvalue($db, $snap_sql), $snap,
		"(i) $what: no partial local state (local rows, history, commit log, sync records, base, conflicts)");
	is(value($rdb, 'SELECT count(*) FROM big_remote'), $remote_rows,
		"(i) $what: no partial remote state either (its transaction never committed)");
	is(scalar(events()), 0, "(i) $what: no event was sent");
	return $t_restart;
}

$db->do(q{SELECT diffsync.create_engine('big', 'bigl', 'bigr', 'bidirectional', 'last_update_wins')});
my $t_restart = restart_during(q{SELECT diffsync.sync_engine('big')}, 'engine sync');

# The next sync, in the same session: postgres_fdw reconnects.
my $t0 = time;
$res = jvalue($bg, q{SELECT diffsync.sync_engine('big')});
my $t_sync = time - $t0;
is_deeply(
	[ side($res, 'source'), side($res, 'target') ],
	[
		{ create => $BIG_ONLY_REMOTE, update => $BIG_DIFFER, delete => 0 },
		{ create => $BIG_ONLY_LOCAL, update => 0, delete => 0 }
	],
	sprintf('(i) the next engine sync (same session, %.2f s) does the whole work', $t_sync));
is_deeply(summary_of('bigl', 'bigr'),
	{ %$expect_big, create => 0, delete => 0, update => 0, 'no-change' => $BIG + $BIG_ONLY_REMOTE },
	'(i) and converges: no differences left');
is_deeply(
	rows($db, q{SELECT adapter, action, count(*), max(version) FROM diffsync.history
	            WHERE adapter IN ('bigl', 'bigr') GROUP BY 1, 2 ORDER BY 1, 2}),
	[ [ 'bigl', 'create', $BIG_ONLY_REMOTE, 1 ], [ 'bigl', 'update', $BIG_DIFFER, 1 ], [ 'bigr', 'create', $BIG_ONLY_LOCAL, 1 ] ],
	'(i) history has each version once: nothing recorded by the failed attempt');
is(value($db, q{SELECT count(*) FROM diffsync.engine_base WHERE engine = 'big'}),
	$BIG + $BIG_ONLY_REMOTE, '(i) the base covers every key');
my @ev = events();
is_deeply([ map { $json->decode($_->[2])->{engine} } @ev ], ['big'],
	'(i) the successful sync sent its one event');
diag(sprintf('big engine sync (%d creates to the remote, %d creates and %d updates locally): %.2f s; '
		  . 'remote stopped %.2f s into the first attempt',
		$BIG_ONLY_LOCAL, $BIG_ONLY_REMOTE, $BIG_DIFFER, $t_sync, $t_restart));

# Updates into the big foreign table: local rows now newer.
$db->do(qq{UPDATE big_local SET n = -n WHERE id <= $BIG_DIFFER});
$t0 = time;
$res = jvalue($db, q{SELECT diffsync.sync_engine('big')});
my $t_upd = time - $t0;
is_deeply(side($res, 'target'), { create => 0, update => $BIG_DIFFER, delete => 0 },
	"(i) $BIG_DIFFER newer local rows are written to the remote");
is(value($rdb, 'SELECT count(*) FROM big_remote WHERE n < 0'), $BIG_DIFFER, '(i) ... as the remote shows');
events();

# Again with continue_on_failure: losing the remote is not a row failure to
# skip, the sync still fails as a whole.
$db->do(
	qq{INSERT INTO big_local SELECT g, 'w' || g, g FROM generate_series(2 * $BIG + 1, 2 * $BIG + $BIG_ONLY_LOCAL) g});
my $t_restart2 = restart_during(
	q{SELECT diffsync.sync('bigl', 'bigr', 'source_to_target', 'source_wins', '{"continue_on_failure": true}')},
	'one-way sync with continue_on_failure');
$res = jvalue($bg, q{SELECT diffsync.sync('bigl', 'bigr', 'source_to_target', 'source_wins', '{"continue_on_failure": true}')});
is_deeply([ side($res, 'target'), $res->{summary}{failed}, summary_of('bigl', 'bigr')->{'no-change'} ],
	[ { create => $BIG_ONLY_LOCAL, update => 0, delete => 0 }, 0, $BIG + $BIG_ONLY_REMOTE + $BIG_ONLY_LOCAL ],
	'(i) the next one-way sync writes everything and converges');
diag(sprintf('%d updates into the %d-row foreign table: %.2f s; remote stopped %.2f s into the '
		  . 'continue_on_failure sync',
		$BIG_DIFFER, $BIG + $BIG_ONLY_REMOTE, $t_upd, $t_restart2));

$_->disconnect for ($db, $rdb, $bg, $listen);
$remote->stop;
$local->stop;
done_testing();
