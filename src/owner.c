/*-------------------------------------------------------------------------
 *
 * owner.c
 *	  Running diffsync's bookkeeping statements as the extension's owner.
 *
 * diffsync's own tables (adapters, engines, base state, history, conflicts,
 * sync log) are not writable by PUBLIC.  The statements that maintain them
 * are fixed SQL with parameters, never user text, and run as the extension
 * owner, the way a SECURITY DEFINER function would; everything that reads
 * or writes the user's relations, and every user-supplied expression, runs
 * as the caller.  So a user can do through diffsync exactly what they could
 * do directly, and diffsync keeps its records whoever calls it.
 *
 * The switch uses SetUserIdAndSecContext with SECURITY_LOCAL_USERID_CHANGE
 * (not a restricted operation: the history insert queues the deferred
 * commit-order trigger, which restricted operations forbid); an error in
 * between is cleaned up by (sub)transaction abort, which restores the
 * caller's identity.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/rel.h"

#include "diffsync.h"

/* The role that owns the diffsync extension. */
static Oid
extension_owner(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			owner = InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("diffsync"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!OidIsValid(owner))
		elog(ERROR, "extension diffsync is not installed");
	return owner;
}

/*
 * diffsync_become_owner
 *		Act as the extension owner until diffsync_restore_user(save).
 */
void
diffsync_become_owner(DsUserSave *save)
{
	GetUserIdAndSecContext(&save->userid, &save->sec_context);
	SetUserIdAndSecContext(extension_owner(),
						   save->sec_context | SECURITY_LOCAL_USERID_CHANGE);
	save->guc_level = diffsync_pin_search_path();
}

/*
 * diffsync_restore_user
 *		Back to the identity saved by diffsync_become_owner.
 */
void
diffsync_restore_user(DsUserSave *save)
{
	diffsync_unpin_search_path(save->guc_level);
	SetUserIdAndSecContext(save->userid, save->sec_context);
}

/*
 * diffsync_pin_search_path
 *		Until diffsync_unpin_search_path(level): search_path is pg_catalog,
 *		pg_temp, so that what bookkeeping SQL names (an operator that
 *		IS DISTINCT FROM or an IN list resolves, a function left
 *		unqualified) can never be the caller's own object, run with the
 *		owner's rights.  Statements run as the owner are parsed and run
 *		under it; so are plans prepared for them.
 */
int
diffsync_pin_search_path(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return level;
}

void
diffsync_unpin_search_path(int level)
{
	AtEOXact_GUC(true, level);
}

/*
 * diffsync_check_owner
 *		Error unless the current user is a member of the role that owns a
 *		diffsync object (what names it, e.g. "adapter \"x\"").
 */
void
diffsync_check_owner(Oid owner, const char *what)
{
	if (!has_privs_of_role(GetUserId(), owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of %s", what)));
}

/*
 * diffsync_owner_prepare
 *		SPI_prepare a statement diffsync_owner_execute_plan will run: parsed
 *		under the pinned search_path.
 */
SPIPlanPtr
diffsync_owner_prepare(const char *sql, int nargs, Oid *argtypes)
{
	int			level = diffsync_pin_search_path();
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

	diffsync_unpin_search_path(level);
	return plan;
}

/*
 * diffsync_owner_execute_plan
 *		SPI_execute_plan as the extension owner (bookkeeping statements).
 */
int
diffsync_owner_execute_plan(SPIPlanPtr plan, Datum *args, const char *nulls,
							bool read_only, long count)
{
	DsUserSave	save;
	int			rc;

	diffsync_become_owner(&save);
	rc = SPI_execute_plan(plan, args, nulls, read_only, count);
	diffsync_restore_user(&save);
	return rc;
}

/*
 * diffsync_owner_execute
 *		SPI_execute_with_args as the extension owner (bookkeeping
 *		statements: fixed SQL, parameters only).
 */
int
diffsync_owner_execute(const char *sql, int nargs, Oid *argtypes, Datum *args,
					   const char *nulls, bool read_only, long count)
{
	DsUserSave	save;
	int			rc;

	diffsync_become_owner(&save);
	rc = SPI_execute_with_args(sql, nargs, argtypes, args, nulls, read_only, count);
	diffsync_restore_user(&save);
	return rc;
}
