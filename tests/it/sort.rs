//! SORT and SORT_RO against a real redis-server, over lists, sets and
//! sorted sets, with BY, GET (including `#` and `->` hash fields), LIMIT,
//! ASC/DESC, ALPHA and STORE.

use crate::common::Diff;

#[test]
fn sort_matches_redis() {
    let mut d = Diff::new();
    d.script(
        r#"
        SORT missing
        SORT_RO missing
        SET s str
        SORT s
        RPUSH l 3 1 2 10 -5 2.5
        SORT l
        SORT l DESC
        SORT l LIMIT 1 3
        SORT l LIMIT -1 2
        SORT l LIMIT 2 -1
        SORT l LIMIT 10 2
        SORT l LIMIT 0 0
        SORT l LIMIT a 1
        SORT l LIMIT 1
        SORT l ALPHA
        SORT l ALPHA DESC LIMIT 0 3
        SORT l FOO
        SORT l ASC DESC
        SORT l STORE
        SORT_RO l STORE dst
        SORT_RO l DESC
        RPUSH words banana apple cherry
        SORT words
        SORT words ALPHA
        RPUSH l2 " 1" "" "0x10" "7"
        SORT l2
        RPUSH bad "1 "
        SORT bad
        MSET w_3 30 w_1 10 w_2 20 w_10 5 w_-5 100 w_2.5 1
        SORT l BY w_*
        SORT l BY w_* DESC
        SORT l BY w_* GET #
        SORT l BY w_* GET w_* GET # GET nosuch_*
        SORT l BY nosort
        SORT l BY nosort DESC
        SORT l BY nosort LIMIT 1 2
        SORT l BY nosort DESC LIMIT 1 2
        SORT l BY nosort GET w_*
        SORT l GET #
        SORT l GET nostar
        HSET h_3 f 3 g c
        HSET h_1 f 1 g a
        HSET h_2 f 2 g b
        RPUSH hl 3 1 2
        SORT hl BY h_*->f
        SORT hl BY h_*->f DESC GET h_*->g GET #
        SORT hl BY h_*->g ALPHA
        SORT hl GET h_*->
        SORT hl GET h_*->nosuch
        SORT hl BY w_* STORE out
        LRANGE out 0 -1
        TYPE out
        SORT hl BY w_* GET nosuch_* STORE out2
        LRANGE out2 0 -1
        SORT missing STORE out
        EXISTS out
        SET out x
        SORT hl STORE out
        TYPE out
        ZADD z 3 c 1 a 2 b 10 x
        SORT z
        SORT z BY nosort
        SORT z BY nosort DESC
        SORT z BY nosort LIMIT 1 2
        SORT z BY nosort DESC LIMIT 1 2
        SORT z ALPHA DESC
        SORT z BY w_* STORE zout
        LRANGE zout 0 -1
        SADD set 5 3 9 1
        SORT set
        SORT set DESC LIMIT 1 2
        SORT set BY nosort STORE sout
        LRANGE sout 0 -1
        SADD wset b c a
        SORT wset ALPHA
        SORT wset BY nosort ALPHA STORE sout2
        LRANGE sout2 0 -1
        "#,
    );
    d.check_unordered(&["SORT", "set", "BY", "nosort"]);
    d.resp3();
    d.script(
        r#"
        SORT l
        SORT hl BY h_*->f GET nosuch_*
        SORT hl STORE out3
        "#,
    );
}
