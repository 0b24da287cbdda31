/**
 * The read queries of tab resolution in Cypher. Private to
 * `core/graph/neo4j/`.
 *
 * {@linkcode RESOLVE_TAB} is spec section 6 steps 1 to 5 in one query and one
 * round trip, with the same answers as `mergeEdges` and `selectBinding` in
 * `core/graph/resolution.ts` (the store contract suite holds both stores to them):
 *
 * 1. The project in the org, by id, else by slug.
 * 2. Its `USES_PLUGIN` edges for the tab and those of its project types,
 *    keyed by Plugin node; the project's edge wins whole; else the first
 *    project type by slug gives the properties (`rank` `"0"` for the
 *    project, `"1" + slug` for a type) and the node is a default (`d`) when
 *    any of the types makes it one. Sorted by Plugin slug, then service slug.
 * 3. Enabled nodes whose manifest slug is in `$loaded` are candidates; the
 *    rest are dropped with `disabled` or `not_loaded`.
 * 4. `$source` by Plugin id, else `service/slug` (a `/` past the first
 *    character), else slug; then the project's default, a single default of
 *    a project type, the only candidate.
 * 5. The chosen node's service and application (ciphertext credentials) and
 *    the edge's properties.
 *
 * Every value comes in as a parameter: `$org`, `$project`, `$tab`,
 * `$source` (null for none), `$loaded` (list of manifest slugs).
 *
 * @module
 */

// A list's entries matching $source (see `matchSource` in core/graph/resolution.ts).
// `$$LIST` is replaced by a list variable's name below: the text is fixed at
// module load and never holds input.
const MATCH_SOURCE = `CASE
    WHEN src IS NULL THEN []
    WHEN any(c IN $$LIST WHERE c.pl.id = src) THEN [c IN $$LIST WHERE c.pl.id = src]
    WHEN src CONTAINS '/' AND size(split(src, '/')[0]) > 0
      THEN [c IN $$LIST WHERE c.pl.service = split(src, '/')[0] AND c.pl.slug = substring(src, size(split(src, '/')[0]) + 1)]
    ELSE [c IN $$LIST WHERE c.pl.slug = src]
  END`;

/** Fields of a Plugin node row, with its application's slug from `app`. */
const PLUGIN_FIELDS = ".id, .slug, .service, .plugin, .plugin_type, .label, .options, .enabled";

/** Tab resolution in one query: see the module doc. Returns one row. */
export const RESOLVE_TAB = `
OPTIONAL MATCH (byId:Project {org: $org, id: $project})
OPTIONAL MATCH (bySlug:Project {org: $org, slug: $project})
WITH coalesce(byId, bySlug) AS p
OPTIONAL MATCH (p)-[:BELONGS_TO]->(o:Organization)
WITH p, o, COLLECT {
    MATCH (p)-[e:USES_PLUGIN {tab: $tab}]->(pl:Plugin)
    RETURN {rank: '0', origin: null, e: e {.tab, .default, .search_template, .identity_plugin_id}, pl: pl} AS x
  UNION ALL
    MATCH (p)-[:HAS_TYPE]->(t:ProjectType)-[e:USES_PLUGIN {tab: $tab}]->(pl:Plugin)
    RETURN {rank: '1' + t.slug, origin: t.slug, e: e {.tab, .default, .search_template, .identity_plugin_id}, pl: pl} AS x
} AS raw
WITH p, o, [x IN raw WHERE none(y IN raw WHERE y.pl = x.pl AND y.rank < x.rank) |
  x {.*, d: CASE WHEN x.rank = '0' THEN x.e.default = true ELSE any(y IN raw WHERE y.pl = x.pl AND y.e.default = true) END}
] AS kept
WITH p, o, COLLECT { UNWIND kept AS m RETURN m ORDER BY m.pl.slug, m.pl.service } AS merged,
  CASE WHEN $source = '' THEN null ELSE $source END AS src
WITH p, o, merged, src,
  [m IN merged WHERE m.pl.enabled = true AND m.pl.plugin IN $loaded] AS cands,
  [m IN merged WHERE NOT (m.pl.enabled = true AND m.pl.plugin IN $loaded) |
    {plugin_id: m.pl.id, slug: m.pl.slug, reason: CASE WHEN m.pl.enabled = true THEN 'not_loaded' ELSE 'disabled' END}
  ] AS dropped
WITH p, o, src, cands, dropped,
  ${MATCH_SOURCE.replaceAll("$$LIST", "cands")} AS srcMatches,
  ${MATCH_SOURCE.replaceAll("$$LIST", "merged")} AS droppedMatches
WITH p, o, src, cands, dropped, srcMatches, [m IN droppedMatches | m.pl.id] AS droppedIds,
  head([c IN cands WHERE c.d AND c.rank = '0']) AS projectDefault,
  [c IN cands WHERE c.d] AS defaults
WITH p, o, CASE
    WHEN p IS NULL THEN {kind: 'project_not_found'}
    WHEN src IS NOT NULL AND size(srcMatches) = 1 THEN {kind: 'selected', reason: 'source', chosen: srcMatches[0]}
    WHEN src IS NOT NULL AND size(srcMatches) > 1 THEN {kind: 'ambiguous', why: 'source', list: srcMatches}
    WHEN src IS NOT NULL AND size(droppedIds) > 0
      THEN {kind: 'none', dropped: [d IN dropped WHERE d.plugin_id IN droppedIds]}
    WHEN src IS NOT NULL THEN {kind: 'source_not_found', list: cands}
    WHEN size(cands) = 0 THEN {kind: 'none', dropped: dropped}
    WHEN projectDefault IS NOT NULL THEN {kind: 'selected', reason: 'project_default', chosen: projectDefault}
    WHEN size(defaults) = 1 THEN {kind: 'selected', reason: 'project_type_default', chosen: defaults[0]}
    WHEN size(defaults) > 1 THEN {kind: 'ambiguous', why: 'defaults', list: defaults}
    WHEN size(cands) = 1 THEN {kind: 'selected', reason: 'only_candidate', chosen: cands[0]}
    ELSE {kind: 'ambiguous', why: 'several', list: cands}
  END AS outcome
WITH p, o, outcome, outcome.chosen.pl AS pl
OPTIONAL MATCH (svc:ThirdPartyService)-[:HAS_PLUGIN]->(pl)
OPTIONAL MATCH (pl)-[:USES_APPLICATION]->(app:ServiceApplication)
RETURN outcome.kind AS kind,
  outcome.reason AS reason,
  outcome.why AS why,
  [c IN coalesce(outcome.list, []) |
    {plugin_id: c.pl.id, slug: c.pl.slug, service: c.pl.service, plugin: c.pl.plugin, label: c.pl.label}] AS candidates,
  coalesce(outcome.dropped, []) AS dropped,
  CASE WHEN pl IS NULL THEN null ELSE o {.slug, .name} END AS org,
  CASE WHEN pl IS NULL THEN null ELSE p {.id, .slug, .name,
    project_types: COLLECT { MATCH (p)-[:HAS_TYPE]->(t:ProjectType) RETURN t.slug ORDER BY t.slug }} END AS project,
  CASE WHEN pl IS NULL THEN null ELSE {
    edge: outcome.chosen.e,
    default: outcome.chosen.d,
    origin: outcome.chosen.origin,
    plugin: pl {${PLUGIN_FIELDS}, application: app.slug}
  } END AS chosen,
  svc {.slug, .name, .vendor, .base_url, .account, .region} AS service,
  app {.slug, .name, .credentials} AS application
`;

/**
 * A project's merged bindings for every tab (`$org`, `$project`): one row,
 * `found` and `merged` (sorted by tab, Plugin slug, service slug).
 */
export const EFFECTIVE_BINDINGS = `
OPTIONAL MATCH (byId:Project {org: $org, id: $project})
OPTIONAL MATCH (bySlug:Project {org: $org, slug: $project})
WITH coalesce(byId, bySlug) AS p
WITH p, COLLECT {
    MATCH (p)-[e:USES_PLUGIN]->(pl:Plugin)
    RETURN {rank: '0', origin: null, e: e {.tab, .default, .search_template, .identity_plugin_id}, pl: pl} AS x
  UNION ALL
    MATCH (p)-[:HAS_TYPE]->(t:ProjectType)-[e:USES_PLUGIN]->(pl:Plugin)
    RETURN {rank: '1' + t.slug, origin: t.slug, e: e {.tab, .default, .search_template, .identity_plugin_id}, pl: pl} AS x
} AS raw
WITH p, [x IN raw WHERE none(y IN raw WHERE y.pl = x.pl AND y.e.tab = x.e.tab AND y.rank < x.rank) |
  x {.*, d: CASE WHEN x.rank = '0' THEN x.e.default = true
    ELSE any(y IN raw WHERE y.pl = x.pl AND y.e.tab = x.e.tab AND y.e.default = true) END}
] AS kept
RETURN p IS NOT NULL AS found, COLLECT {
  UNWIND kept AS m
  WITH m, m.pl AS pl
  RETURN {
    edge: m.e,
    default: m.d,
    origin: m.origin,
    plugin: pl {${PLUGIN_FIELDS}, application: head(COLLECT { MATCH (pl)-[:USES_APPLICATION]->(a) RETURN a.slug })}
  } AS row
  ORDER BY m.e.tab, pl.slug, pl.service
} AS merged
`;
