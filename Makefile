# Makefile for diffsync (PGXS only)

EXTENSION = diffsync
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)
MODULE_big = diffsync
OBJS = \
	src/diffsync.o \
	src/json_pointer.o \
	src/jsonb_util.o \
	src/array_align.o \
	src/adapter.o \
	src/table_diff.o \
	src/apply.o \
	src/sync.o \
	src/engine.o \
	src/notify.o \
	src/history.o \
	src/owner.o \
	src/trigger.o \
	src/jsonb_diff.o \
	src/jsonb_patch.o \
	src/jsonb_merge.o

DATA = $(wildcard sql/$(EXTENSION)--*.sql)
PGFILEDESC = "diffsync - state synchronization inside PostgreSQL"

REGRESS = $(patsubst test/sql/%.sql,%,$(sort $(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test
ISOLATION = $(patsubst specs/%.spec,%,$(sort $(wildcard specs/*.spec)))

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS does not track header dependencies
$(OBJS): src/diffsync.h src/sync.h
