# 002_dump_restore.pl -- diffsync's state survives pg_dump and pg_restore.
#
# diffsync keeps its catalog (adapters, engines), the engines' base state,
# the version history, the commit log, the conflict queue and the sync log
# in extension configuration tables, which pg_dump dumps with the data.  A
# user who moves a database with pg_dump must find all of it unchanged, and
# working, in the copy.
#
# One node (track_commit_timestamp = on).  Database "app" gets tables whose
# columns are named differently (the target tables in another schema),
# adapters with renames, a read/write transform, a filter and a parent/child
# pair, a bidirectional engine with strategy manual and options (one
# conflict open, one resolved), a one-way engine owned by another role,
# syncs, live triggers (attach), more than 16 versions of one key (a stored
# snapshot in the middle of the patch chain), a commit_version, a restore,
# a delete and two overlapping transactions (commit order differs from
# change_id order).
#
#  (a) pg_dump -Fc | pg_restore into a fresh database, and pg_dump -Fp | psql
#      into another: both succeed;
#  (b) adapters, engines (owners, options), engine_base, history (rows and
#      the states history() rebuilds), commit_log, changes_since, state_as_of,
#      conflicts, syncs, sequences, live triggers, table owners and what
#      row-level security shows a non-superuser are identical to the
#      original's;
#  (c) the copies keep working: the same further work (sync_engine, resolving
#      the open conflict, live changes on either side, a new conflict, a
#      one-way sync as the engine's owner) gives the same results, ids and
#      versions as in the original, and leaves both sides reconciled;
#  (d) a commit log whose rows are stored out of commit order (as after a
#      VACUUM) restores with its commit order intact.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use DBI;
use DBD::Pg;
use IPC::Run;
use JSON::PP;

my $json = JSON::PP->new->canonical;

my $node = PostgreSQL::Test::Cluster->new('dump_restore');
$node->init;
$node->append_conf('postgresql.conf', "track_commit_timestamp = on\n");
$node->start;

my $tmp = PostgreSQL::Test::Utils::tempdir;

# query: the output of a script run by psql -XAtq in database $db.
sub query
{
	my ($db, $sql) = @_;
	return $node->safe_psql($db, "SET client_min_messages = warning;\n$sql");
}

# connect_db: a new DBD::Pg session on database $db, autocommit on.
sub connect_db
{
	my ($db) = @_;
	my $dbh = DBI->connect(
		"dbi:Pg:dbname=$db;host=" . $node->host . ';port=' . $node->port,
		'', '',
		{ AutoCommit => 1, RaiseError => 1, PrintError => 0 });
	$dbh->do('SET client_min_messages = warning');
	return $dbh;
}

# run: run a command of the installation with the node's connection
# settings; returns (exit status, stdout, stderr).
sub run
{
	my (@cmd) = @_;
	my ($out, $err) = ('', '');
	local %ENV = %ENV;
	$ENV{PGHOST} = $node->host;
	$ENV{PGPORT} = $node->port;
	delete $ENV{PGUSER};
	$cmd[0] = $node->installed_command($cmd[0]);
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

# same: one assertion that $sql gives the same output in database $copy as
# in database $orig; on a difference, shows the first lines that differ.
sub same
{
	my ($name, $sql, $orig, $copy) = @_;
	my @a = split /\n/, query($orig, $sql), -1;
	my @b = split /\n/, query($copy, $sql), -1;
	my @diff;
	for my $i (0 .. ($#a > $#b ? $#a : $#b))
	{
		my ($x, $y) = ($a[$i] // '(no line)', $b[$i] // '(no line)');
		push @diff, "line $i:\n  $orig: $x\n  $copy: $y" if $x ne $y;
	}
	ok(!@diff, "$copy: $name")
	  or diag(scalar(@a) . " lines in $orig, " . scalar(@b) . " in $copy; first differences:\n"
		  . join("\n", @diff[ 0 .. ($#diff < 4 ? $#diff : 4) ]));
	return;
}

#
# Setup of database "app".
#
$node->safe_psql('postgres', q{
	CREATE ROLE regress_ds_owner LOGIN;
	CREATE DATABASE app;
});
query('app', q{
	CREATE EXTENSION diffsync;
	GRANT CREATE ON SCHEMA public TO regress_ds_owner;
	CREATE SCHEMA remote;

	CREATE TABLE src_site (name text PRIMARY KEY, region text,
	                       meta jsonb NOT NULL DEFAULT '{}');
	CREATE TABLE src_device (name text PRIMARY KEY,
	                         site text NOT NULL REFERENCES src_site,
	                         role text, serial text);
	CREATE TABLE remote.dst_site (code text PRIMARY KEY, area text,
	                              info jsonb NOT NULL DEFAULT '{}');
	CREATE TABLE remote.dst_device (hostname text PRIMARY KEY,
	                                site_code text NOT NULL REFERENCES remote.dst_site,
	                                kind text, sn text, note text);

	SELECT diffsync.create_adapter('a_site', 'src_site', '{name}', model => 'site');
	SELECT diffsync.create_adapter('a_device', 'src_device', '{name}', '{site,role,serial}',
	    parent => 'a_site', parent_key => '{"site": "name"}', model => 'device');
	SELECT diffsync.create_adapter('b_site', 'remote.dst_site', '{name}',
	    columns => '{"name": "code", "region": "area", "meta": "info"}', model => 'site');
	SELECT diffsync.create_adapter('b_device', 'remote.dst_device', '{name}', '{site,role,serial}',
	    columns => '{"name": "hostname", "site": "site_code", "role": "kind",
	                 "serial": {"column": "sn", "read": "upper(sn)", "write": "lower(serial)"}}',
	    parent => 'b_site', parent_key => '{"site": "name"}', model => 'device');
	SELECT diffsync.create_engine('inv', 'a_site', 'b_site', 'bidirectional', 'manual',
	    '{"batch_size": 50, "channel": "inv_events", "max_conflicts": 10}');

	INSERT INTO src_site VALUES ('atl', 'south', '{"tier": 1}'), ('nyc', 'east', '{"tier": 2}'),
	                            ('sfo', 'west', '{"tier": 3}');
	INSERT INTO src_device VALUES ('atl-r1', 'atl', 'router', 'SN10'),
	                              ('nyc-r1', 'nyc', 'router', 'SN20');
	INSERT INTO remote.dst_site VALUES ('nyc', 'north-east', '{"tier": 2}'),
	                                   ('sfo', 'west', '{"tier": 30}'), ('sea', 'west', '{"tier": 4}');
	INSERT INTO remote.dst_device VALUES ('sea-s1', 'sea', 'switch', 'sn40', 'rack 4');
});

# First sync: two conflicts queued (nyc's region, sfo's meta); one resolved.
my $first = $json->decode(query('app', q{SELECT diffsync.sync_engine('inv')->'summary'}));
is_deeply([ @$first{qw(create queued)} ], [ 5, 2 ],
	'setup: the first sync of the manual engine created 5 rows and queued 2 conflicts');
query('app', q{
	SELECT diffsync.resolve_conflict(conflict_id, 'target')
	  FROM diffsync.conflicts WHERE key = '{"name": "sfo"}';

	-- a one-way engine over a filtered adapter, owned by another role
	SET ROLE regress_ds_owner;
	CREATE TABLE central_config (service text, setting text, value jsonb,
	                             PRIMARY KEY (service, setting));
	CREATE TABLE billing_config (k text PRIMARY KEY, v jsonb);
	SELECT diffsync.create_adapter('central', 'central_config', '{setting}', '{value}',
	    filter => $$service = 'billing'$$);
	SELECT diffsync.create_adapter('billing', 'billing_config', '{setting}',
	    columns => '{"setting": "k", "value": "v"}');
	SELECT diffsync.create_engine('cfg', 'central', 'billing', 'source_to_target', 'source_wins',
	    '{"notify": false}');
	INSERT INTO central_config VALUES ('billing', 'currency', '"EUR"'),
	    ('billing', 'vat', '{"rate": 20}'), ('shop', 'theme', '"dark"');
	INSERT INTO billing_config VALUES ('legacy', 'true');
	SELECT diffsync.sync_engine('cfg');
	UPDATE central_config SET value = '{"rate": 21}' WHERE setting = 'vat';
	SELECT diffsync.sync_engine('cfg');
	RESET ROLE;

	UPDATE src_site SET meta = meta || '{"x": 1}' WHERE name = 'atl';
	UPDATE remote.dst_device SET kind = 'core-switch' WHERE hostname = 'sea-s1';
	SELECT diffsync.sync_engine('inv');
	SELECT diffsync.attach('inv');
	SELECT diffsync.attach('cfg');

	-- 20 live versions of atl on each side: a stored state in mid-chain
	DO $$
	BEGIN
	    FOR i IN 1..20 LOOP
	        UPDATE src_site SET meta = jsonb_set(meta, '{n}', to_jsonb(i)) WHERE name = 'atl';
	    END LOOP;
	END
	$$;
	UPDATE remote.dst_device SET kind = 'spine' WHERE hostname = 'sea-s1';
	INSERT INTO src_device VALUES ('atl-r2', 'atl', 'router', 'SN11');
	DELETE FROM src_device WHERE name = 'nyc-r1';
	SELECT diffsync.commit_version('a_site', '{"name": "atl"}', 'checkpoint');
	SELECT diffsync.restore('a_site', '{"name": "atl"}', 5);
	UPDATE central_config SET value = '"USD"' WHERE setting = 'currency';
});

# Two overlapping transactions: the one that wrote first commits last.
my $wa = connect_db('app');
my $wb = connect_db('app');
$wa->begin_work;
$wa->do(q{UPDATE src_site SET region = 'south-east' WHERE name = 'atl'});
$wb->begin_work;
$wb->do(q{UPDATE remote.dst_site SET info = info || '{"late": false}' WHERE code = 'sea'});
$wb->commit;
$wa->commit;
$_->disconnect for ($wa, $wb);

# What the original holds: the comparisons below must not compare nothing.
is( query('app', q{
	SELECT (SELECT count(*) FROM diffsync.adapter) || ' adapters, '
	    || (SELECT count(*) FROM diffsync.engine) || ' engines, '
	    || (SELECT count(*) > 0 FROM diffsync.engine_base) || ' base, '
	    || (SELECT count(*) FROM diffsync.conflicts WHERE status = 'open') || ' open and '
	    || (SELECT count(*) FROM diffsync.conflicts WHERE status = 'resolved') || ' resolved conflicts, '
	    || (SELECT count(*) FROM diffsync.syncs) || ' syncs, '
	    || (SELECT string_agg(DISTINCT action, ',') FROM diffsync.history) || ' versions, '
	    || (SELECT count(*) FROM pg_trigger WHERE tgfoid = 'diffsync.live_reconcile()'::regprocedure)
	    || ' live triggers'}),
	'6 adapters, 2 engines, true base, 1 open and 1 resolved conflicts, 4 syncs, '
	  . 'commit,create,delete,restore,update versions, 25 live triggers',
	'setup: the original has adapters, engines, base, conflicts, syncs, every kind of version, live triggers');
cmp_ok(
	query('app', q{SELECT max(version) FROM diffsync.history WHERE adapter = 'a_site' AND key = '{"name": "atl"}'}),
	'>', 16, 'setup: atl has more than 16 versions (a stored state in mid-chain)');
isnt(
	query('app', q{SELECT string_agg(change_id::text, ',') FROM diffsync.changes_since(0)}),
	query('app', q{SELECT string_agg(change_id::text, ',' ORDER BY change_id) FROM diffsync.history}),
	'setup: commit order (changes_since) differs from change_id order');

#
# (a) Dump and restore, custom format and plain format.
#
my ($rc, $out, $err) = run('pg_dump', '-Fc', '-f', "$tmp/app.dump", '-d', 'app');
is($rc, 0, 'pg_dump -Fc exits with 0') or diag($err);
($rc, $out, $err) = run('pg_dump', '-Fp', '-f', "$tmp/app.sql", '-d', 'app');
is($rc, 0, 'pg_dump -Fp exits with 0') or diag($err);

$node->safe_psql('postgres', 'CREATE DATABASE app_custom; CREATE DATABASE app_plain;');
($rc, $out, $err) = run('pg_restore', '-d', 'app_custom', "$tmp/app.dump");
is($rc, 0, 'pg_restore of the custom-format dump exits with 0');
is($err, '', 'pg_restore reports no error') or diag($err);
($rc, $out, $err) =
  run('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', 'app_plain', '-f', "$tmp/app.sql");
is($rc, 0, 'psql restores the plain-format dump with ON_ERROR_STOP (exit status 0)');
is($err, '', 'psql reports no error restoring the plain-format dump') or diag($err);

#
# (b) The copies hold exactly what the original holds.
#
my @catalog = (
	[ 'adapters (relations, fields, columns, filter, parent, owner, created_at)', q{
		SELECT name, relation::text, model, identifiers, attributes, columns, filter,
		       updated_at, parent, parent_key, owner::text, created_at
		  FROM diffsync.adapter ORDER BY name} ],
	[ 'the adapters view', q{SELECT * FROM diffsync.adapters ORDER BY name} ],
	[ 'engines (direction, strategy, options, owner, last sync)', q{
		SELECT name, source, target, direction, strategy, options, owner::text,
		       created_at, last_sync_id
		  FROM diffsync.engine ORDER BY name} ],
	[ 'the engines view (open conflicts)', q{SELECT * FROM diffsync.engines ORDER BY name} ],
	[ 'engine_base', q{SELECT * FROM diffsync.engine_base ORDER BY engine, model, key} ],
	[ 'history rows (every column)', q{
		SELECT change_id, adapter, key, version, action, state, patch, state_hash, sync_id,
		       engine, xid, recorded_at, message, key_hash
		  FROM diffsync.history ORDER BY change_id} ],
	[ 'the states history() rebuilds, for every key', q{
		SELECT k.adapter, k.key, h.*
		  FROM (SELECT DISTINCT adapter, key FROM diffsync.history) k,
		       diffsync.history(k.adapter, k.key) h
		 ORDER BY k.adapter, k.key, h.version} ],
	[ 'commit_log: xid and commit_seq', q{
		SELECT xid, commit_seq FROM diffsync.commit_log ORDER BY xid} ],
	[ 'commit_log: committed_at', q{
		SELECT xid, committed_at FROM diffsync.commit_log ORDER BY xid} ],
	[ 'changes_since(0): the changes in commit order', q{
		SELECT change_id, commit_seq, adapter, key, version, action, state, patch, sync_id, engine
		  FROM diffsync.changes_since(0)} ],
	[ 'changes_since(0): commit times', q{
		SELECT change_id, committed_at FROM diffsync.changes_since(0)} ],
	[ 'changes_since from a change in the middle', q{
		SELECT change_id FROM diffsync.changes_since(
		    (SELECT change_id FROM diffsync.history WHERE adapter = 'a_site'
		        AND key = '{"name": "atl"}' AND version = 10))} ],
	[ 'conflicts (open and resolved)', q{SELECT * FROM diffsync.conflicts ORDER BY conflict_id} ],
	[ 'syncs', q{SELECT * FROM diffsync.syncs ORDER BY sync_id} ],
	[ 'sequences (sync, conflict, change, commit)', q{
		SELECT 'sync', last_value, is_called FROM diffsync.sync_id_seq
		UNION ALL SELECT 'conflict', last_value, is_called FROM diffsync.conflicts_conflict_id_seq
		UNION ALL SELECT 'change', last_value, is_called FROM diffsync.history_change_id_seq
		UNION ALL SELECT 'commit', last_value, is_called FROM diffsync.commit_seq} ],
	[ 'live triggers', q{
		SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid)
		  FROM pg_trigger WHERE NOT tgisinternal AND tgrelid::regclass::text NOT LIKE 'diffsync.%'
		 ORDER BY 1, 2} ],
	[ 'the user tables and their owners', q{
		SELECT c.oid::regclass::text, pg_get_userbyid(c.relowner)
		  FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace::regnamespace::text IN ('public', 'remote')
		 ORDER BY 1} ],
	[ 'the rows of both sides', my $rows_sql = q{
		SELECT 'src_site', to_jsonb(t) FROM src_site t UNION ALL
		SELECT 'src_device', to_jsonb(t) FROM src_device t UNION ALL
		SELECT 'dst_site', to_jsonb(t) FROM remote.dst_site t UNION ALL
		SELECT 'dst_device', to_jsonb(t) FROM remote.dst_device t UNION ALL
		SELECT 'central', to_jsonb(t) FROM central_config t UNION ALL
		SELECT 'billing', to_jsonb(t) FROM billing_config t ORDER BY 1, 2} ],
	[ 'what row-level security shows the one-way engine\'s owner', q{
		SET ROLE regress_ds_owner;
		SELECT 'history', count(*) FROM diffsync.history UNION ALL
		SELECT 'syncs', count(*) FROM diffsync.syncs UNION ALL
		SELECT 'conflicts', count(*) FROM diffsync.conflicts UNION ALL
		SELECT 'engine_base', count(*) FROM diffsync.engine_base} ],
	[ 'diff of the engine\'s adapters (the open conflict differs)', q{
		SELECT model, key, action, source, target, changes
		  FROM diffsync.diff('a_site', 'b_site') ORDER BY model, key} ],
);
for my $copy (qw(app_custom app_plain))
{
	same($_->[0], $_->[1], 'app', $copy) for @catalog;
}

# state_as_of at the commit time of every change (taken from the original)
# gives the same state in the copies.
my $times = query('app', q{
	SELECT jsonb_agg(jsonb_build_object('adapter', adapter, 'key', key, 'at', committed_at)
	                 ORDER BY commit_seq, change_id)
	  FROM diffsync.changes_since(0)});
my $as_of = qq{
	SELECT v.adapter, v.key, v.at, diffsync.state_as_of(v.adapter, v.key, v.at)
	  FROM jsonb_to_recordset(\$j\$$times\$j\$::jsonb) AS v(adapter text, key jsonb, at timestamptz)
	 ORDER BY v.at, v.adapter, v.key};
is( query('app', "SELECT count(*) FROM ($as_of) s WHERE state_as_of IS NULL"),
	query('app', q{SELECT count(*) FROM diffsync.changes_since(0) WHERE action = 'delete'}),
	'app: state_as_of at the commit time of each change is NULL only for deletes');
same('state_as_of at the original commit time of every change', $as_of, 'app', $_)
  for qw(app_custom app_plain);

#
# (c) The copies keep working: the same further work gives the same results.
#
my $work = q{
	-- a batch sync refreshes the open conflict
	SELECT r->'sync_id', r->'summary',
	       (SELECT jsonb_agg(c - '{source_timestamp,target_timestamp}'::text[])
	          FROM jsonb_array_elements(r->'conflicts') c)
	  FROM diffsync.sync_engine('inv') r;
	-- the conflict queued before the dump is resolved
	SELECT diffsync.resolve_conflict(conflict_id, 'source')
	  FROM diffsync.conflicts WHERE status = 'open';
	-- live changes on either side, through renames and the transform
	UPDATE remote.dst_site SET info = info || '{"restored": true}' WHERE code = 'sea';
	INSERT INTO src_device VALUES ('sfo-r1', 'sfo', 'router', 'SN30');
	UPDATE remote.dst_device SET sn = 'sn41' WHERE hostname = 'sea-s1';
	DELETE FROM remote.dst_device WHERE hostname = 'atl-r2';
	-- a new conflict: both sides change nyc while the triggers are silenced
	SET session_replication_role = replica;
	UPDATE src_site SET meta = '{"tier": 5}' WHERE name = 'nyc';
	UPDATE remote.dst_site SET info = '{"tier": 6}' WHERE code = 'nyc';
	RESET session_replication_role;
	SELECT r->'sync_id', r->'summary' FROM diffsync.sync_engine('inv') r;
	SELECT conflict_id, key, conflict->>'attribute', status FROM diffsync.conflicts ORDER BY 1;
	-- the one-way engine, live and batch, as its owner
	SET ROLE regress_ds_owner;
	INSERT INTO central_config VALUES ('billing', 'tz', '"UTC"'), ('shop', 'tz', '"CET"');
	UPDATE billing_config SET v = '"GBP"' WHERE k = 'currency';
	SELECT r->'sync_id', r->'summary' FROM diffsync.sync_engine('cfg') r;
	RESET ROLE;
};
my $work_out = query('app', $work);
for my $copy (qw(app_custom app_plain))
{
	my $got = query($copy, $work);
	is($got, $work_out,
		"$copy: sync_engine, resolve_conflict, live changes and a new conflict give the same results as in the original");
}
my @after = (
	[ 'the rows of both sides after the further work', $rows_sql ],
	[ 'history after the further work (ids, versions, states, patches)', q{
		SELECT change_id, adapter, key, version, action, state, patch, state_hash, sync_id, engine, message
		  FROM diffsync.history ORDER BY change_id} ],
	[ 'changes_since(0) after the further work', q{
		SELECT change_id, commit_seq, adapter, key, version, action, state, sync_id
		  FROM diffsync.changes_since(0)} ],
	[ 'conflicts after the further work', q{
		SELECT conflict_id, sync_id, engine, model, key, conflict - '{source_timestamp,target_timestamp}'::text[],
		       status, resolution, resolved_value
		  FROM diffsync.conflicts ORDER BY conflict_id} ],
	[ 'engine_base after the further work', q{
		SELECT engine, model, key, state FROM diffsync.engine_base ORDER BY 1, 2, 3} ],
	[ 'syncs after the further work', q{
		SELECT sync_id, engine, source, target, result->'summary', result->'source_version',
		       result->'target_version'
		  FROM diffsync.syncs ORDER BY sync_id} ],
);
for my $copy (qw(app_custom app_plain))
{
	same($_->[0], $_->[1], 'app', $copy) for @after;

	# and, on their own terms, the copies are consistent
	is( query($copy, q{
		SELECT string_agg(status || ':' || key::text, ' ' ORDER BY conflict_id)
		  FROM diffsync.conflicts WHERE key = '{"name": "nyc"}'}),
		'resolved:{"name": "nyc"} open:{"name": "nyc"}',
		"$copy: the restored open conflict is resolved, the new one (nyc's meta) is open");
	is( query($copy, q{
		SELECT code || ' ' || area || ' ' || coalesce(info->>'restored', '-') FROM remote.dst_site
		 WHERE code IN ('nyc', 'sea') ORDER BY code}),
		"nyc east -\nsea west true",
		"$copy: nyc's region resolved into the target; sea's live change on the target side is there");
	is( query($copy, q{SELECT meta->>'restored' FROM src_site WHERE name = 'sea'}),
		'true', "$copy: a live change on the target side reached the source");
	is( query($copy, q{
		SELECT string_agg(name || '=' || serial, ' ' ORDER BY name) FROM src_device}),
		'atl-r1=SN10 sea-s1=SN41 sfo-r1=SN30',
		"$copy: live device changes went through the transform and the delete reached the source");
	is( query($copy, q{
		SELECT string_agg(hostname || '=' || sn, ' ' ORDER BY hostname) FROM remote.dst_device}),
		'atl-r1=sn10 sea-s1=sn41 sfo-r1=sn30',
		"$copy: ... and the insert reached the target");
	is( query($copy, q{SELECT string_agg(k || '=' || v::text, ' ' ORDER BY k) FROM billing_config}),
		'currency="USD" tz="UTC" vat={"rate": 21}',
		"$copy: the filtered one-way engine copied tz (not the shop row's) and overwrote the target's own edit");
	is( query($copy, q{
		SELECT count(*) FROM diffsync.adapter a,
		       LATERAL (SELECT key, key || attrs AS row FROM diffsync.load(a.name)) l
		 WHERE l.row IS DISTINCT FROM
		       (SELECT h.state FROM diffsync.history(a.name, l.key) h ORDER BY h.version DESC LIMIT 1)
		   AND EXISTS (SELECT 1 FROM diffsync.history h WHERE h.adapter = a.name AND h.key = l.key)
		   AND l.key <> '{"name": "nyc"}'}),
		'0', "$copy: the newest version history() rebuilds is every versioned row's current state (but nyc's, written behind diffsync's back)");
	is( query($copy, q{
		SELECT (diffsync.diff_summary('a_site', 'b_site') - 'no-change')::text || ' '
		    || (diffsync.diff_summary('central', 'billing') - 'no-change')::text}),
		'{"skip": 0, "create": 0, "delete": 0, "update": 1} {"skip": 0, "create": 0, "delete": 0, "update": 0}',
		"$copy: only the key of the open conflict differs between the engine's sides; the one-way pair is in sync");
}

#
# (d) A commit log stored out of commit order restores in commit order.
#
$node->safe_psql('postgres', 'CREATE DATABASE seq');
query('seq', q{
	CREATE EXTENSION diffsync;
	CREATE TABLE a (id int PRIMARY KEY, v text);
	CREATE TABLE b (id int PRIMARY KEY, v text);
	SELECT diffsync.create_adapter('a', 'a', '{id}');
	SELECT diffsync.create_adapter('b', 'b', '{id}');
	SELECT diffsync.create_engine('e', 'a', 'b', 'source_to_target', 'source_wins');
	SELECT diffsync.attach('e');
	INSERT INTO a VALUES (1, 'one');
	INSERT INTO a VALUES (2, 'two');
});
# what autovacuum does on a busy system: the space of the commit log's
# updated rows is reused by later transactions
$node->safe_psql('seq', 'VACUUM diffsync.commit_log');
query('seq', q{
	INSERT INTO a VALUES (3, 'three');
	INSERT INTO a VALUES (4, 'four');
});
is( query('seq', q{SELECT string_agg(commit_seq::text, ',') FROM diffsync.commit_log}),
	'1,3,2,4', 'seq: precondition: the commit log rows are stored out of commit order');
($rc, $out, $err) = run('pg_dump', '-Fc', '-f', "$tmp/seq.dump", '-d', 'seq');
is($rc, 0, 'seq: pg_dump -Fc exits with 0') or diag($err);
$node->safe_psql('postgres', 'CREATE DATABASE seq_custom');
($rc, $out, $err) = run('pg_restore', '-d', 'seq_custom', "$tmp/seq.dump");
is($rc, 0, 'seq: pg_restore exits with 0');
is($err, '', 'seq: pg_restore reports no error') or diag($err);
same('commit_log (xid, commit_seq, committed_at)',
	'SELECT * FROM diffsync.commit_log ORDER BY xid', 'seq', 'seq_custom');
same('changes_since(0)', 'SELECT * FROM diffsync.changes_since(0)', 'seq', 'seq_custom');

$node->stop;
done_testing();
