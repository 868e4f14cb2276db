-- Makes FerretDB 1.24's indexes usable by PostgreSQL. Applied by deploy/local/stack.py to the
-- `ferretdb` database every time the local PostgreSQL starts; idempotent.
--
-- FerretDB pushes an equality filter down as `_jsonb -> 'field' @> '<value>'` but indexes each
-- field with a btree on `(_jsonb -> 'field')`, and a btree cannot answer `@>`: every lookup, even
-- by _id, scanned the whole table. For each such btree index this adds a companion GIN index on
-- the same expressions (jsonb_path_ops answers `@>`), when FerretDB creates the index, when it
-- drops it, and once for the indexes that already exist. See docs/infra.md; tested by
-- tests/deploy/test_ferretdb_indexes.py.

-- The name of an index's GIN companion, within PostgreSQL's 63-byte names (FerretDB's are ASCII).
CREATE OR REPLACE FUNCTION public.newsflow_companion_name(index_name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT left(index_name, 59) || '_gin' $$;

CREATE OR REPLACE FUNCTION public.newsflow_gin_companion(idx oid) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    ix pg_index;
    cols text[] := '{}';
    expr text;
BEGIN
    SELECT * INTO ix FROM pg_index WHERE indexrelid = idx;
    IF NOT FOUND OR (SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
                     WHERE c.oid = idx) <> 'btree' THEN
        RETURN NULL;
    END IF;
    FOR k IN 1..ix.indnkeyatts LOOP
        expr := pg_get_indexdef(idx, k, true);
        -- Only FerretDB's own shape: every key an expression over its _jsonb column.
        IF ix.indkey[k - 1] <> 0 OR expr NOT LIKE '(_jsonb -> %' THEN
            RETURN NULL;
        END IF;
        cols := cols || format('(%s) jsonb_path_ops', expr);
    END LOOP;
    RETURN format(
        'CREATE INDEX IF NOT EXISTS %I ON %s USING gin (%s) WITH (fastupdate = off)',
        public.newsflow_companion_name((SELECT relname FROM pg_class WHERE oid = idx)),
        ix.indrelid::regclass,
        array_to_string(cols, ', ')
    );
END
$$;

-- Creates the companion, and keeps ANALYZE to the statistics the planner reads. It reads those of
-- an index expression from the first index on it that has them, so one copy per expression is
-- enough: the companion's columns, a btree column whose expression another btree of the table
-- already gathers (`article_id` leads three), and the whole `_jsonb` documents (FerretDB filters on
-- `_jsonb -> 'field'` only) are left out. They made up most of each ANALYZE of these tables, which
-- autovacuum runs every few seconds while a table grows, in bursts that stalled the requests
-- sharing the cores (docs/benchmarks.md, thirteenth session).
CREATE OR REPLACE FUNCTION public.newsflow_ensure_companion(idx oid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    ddl text := public.newsflow_gin_companion(idx);
    companion regclass;
    k int;
BEGIN
    IF ddl IS NULL THEN
        RETURN;
    END IF;
    EXECUTE ddl;
    SELECT to_regclass(format('%I.%I', n.nspname, public.newsflow_companion_name(c.relname))) INTO companion
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = idx;
    -- Each ALTER only where the target is not 0 yet: this runs for every index at every start
    -- (the DELETEs are cheap and clear what older versions of this file left; since PostgreSQL 17 a
    -- default target is NULL, hence IS DISTINCT FROM).
    FOR k IN SELECT attnum FROM pg_attribute WHERE attrelid = companion AND attstattarget IS DISTINCT FROM 0 LOOP
        EXECUTE format('ALTER INDEX %s ALTER COLUMN %s SET STATISTICS 0', companion, k);
    END LOOP;
    -- ANALYZE keeps what it no longer gathers: a copy from before would be read first.
    DELETE FROM pg_statistic WHERE starelid = companion;
    FOR k IN 1..(SELECT indnkeyatts FROM pg_index WHERE indexrelid = idx) LOOP
        IF EXISTS (
            SELECT 1 FROM pg_index o JOIN pg_class oc ON oc.oid = o.indexrelid
            JOIN pg_attribute a ON a.attrelid = o.indexrelid
            WHERE o.indrelid = (SELECT indrelid FROM pg_index WHERE indexrelid = idx)
              AND o.indexrelid <> idx AND oc.relname NOT LIKE '%\_gin'
              AND a.attnum <= o.indnkeyatts AND a.attstattarget IS DISTINCT FROM 0
              AND pg_get_indexdef(o.indexrelid, a.attnum, true) = pg_get_indexdef(idx, k, true)
        ) THEN
            IF (SELECT attstattarget FROM pg_attribute WHERE attrelid = idx AND attnum = k) IS DISTINCT FROM 0 THEN
                EXECUTE format('ALTER INDEX %s ALTER COLUMN %s SET STATISTICS 0', idx::regclass, k);
            END IF;
            DELETE FROM pg_statistic WHERE starelid = idx AND staattnum = k;
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid
               WHERE i.indexrelid = idx AND a.attname = '_jsonb' AND a.attstattarget IS DISTINCT FROM 0) THEN
        EXECUTE format('ALTER TABLE %s ALTER COLUMN _jsonb SET STATISTICS 0',
                       (SELECT indrelid::regclass FROM pg_index WHERE indexrelid = idx));
    END IF;
    DELETE FROM pg_statistic s USING pg_index i, pg_attribute a
    WHERE i.indexrelid = idx AND s.starelid = i.indrelid AND a.attrelid = i.indrelid
      AND a.attname = '_jsonb' AND s.staattnum = a.attnum;
END
$$;

-- The other half of the above, when an index is dropped: a btree column left at STATISTICS 0
-- because the dropped index gathered its expression gets the default target back, unless another
-- btree of the table still gathers it (each check sees the ALTERs before it: one column per
-- expression gets it back).
CREATE OR REPLACE FUNCTION public.newsflow_restore_statistics(schema_name text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT i.indexrelid AS idx, i.indrelid AS tbl, a.attnum AS k
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = i.indexrelid
             WHERE n.nspname = schema_name AND c.relname NOT LIKE '%\_gin'
               AND a.attnum <= i.indnkeyatts AND a.attstattarget = 0
             ORDER BY c.relname, a.attnum LOOP
        IF NOT EXISTS (
            SELECT 1 FROM pg_index o JOIN pg_class oc ON oc.oid = o.indexrelid
            JOIN pg_attribute a ON a.attrelid = o.indexrelid
            WHERE o.indrelid = r.tbl AND o.indexrelid <> r.idx AND oc.relname NOT LIKE '%\_gin'
              AND a.attnum <= o.indnkeyatts AND a.attstattarget IS DISTINCT FROM 0
              AND pg_get_indexdef(o.indexrelid, a.attnum, true) = pg_get_indexdef(r.idx, r.k, true)
        ) THEN
            EXECUTE format('ALTER INDEX %s ALTER COLUMN %s SET STATISTICS -1', r.idx::regclass, r.k);
        END IF;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION public.newsflow_on_create_index() RETURNS event_trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.newsflow_ensure_companion(objid)
    FROM pg_event_trigger_ddl_commands() WHERE object_type = 'index';
END
$$;

CREATE OR REPLACE FUNCTION public.newsflow_on_drop_index() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    -- Only an index dropped on its own (dropIndexes); a dropped table takes its companions along.
    FOR r IN SELECT schema_name, object_name FROM pg_event_trigger_dropped_objects()
             WHERE object_type = 'index' AND original AND object_name NOT LIKE '%\_gin' LOOP
        EXECUTE format('DROP INDEX IF EXISTS %I.%I', r.schema_name,
                       public.newsflow_companion_name(r.object_name));
        PERFORM public.newsflow_restore_statistics(r.schema_name);
    END LOOP;
END
$$;

DROP EVENT TRIGGER IF EXISTS newsflow_gin_on_create;
CREATE EVENT TRIGGER newsflow_gin_on_create ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
    EXECUTE FUNCTION public.newsflow_on_create_index();

DROP EVENT TRIGGER IF EXISTS newsflow_gin_on_drop;
CREATE EVENT TRIGGER newsflow_gin_on_drop ON sql_drop WHEN TAG IN ('DROP INDEX')
    EXECUTE FUNCTION public.newsflow_on_drop_index();

-- The indexes created before these triggers existed.
SELECT public.newsflow_ensure_companion(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast');
