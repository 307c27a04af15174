//! Runtime suite: the same app behaviours run against every JS engine compiled in, through the runtime port.
//!
//! `runtime_suite!(engine, factory)` makes one `#[tokio::test]` per behaviour in `web.rs`, `crypto.rs`, `bindings.rs`,
//! `handlers.rs`, `limits.rs` and `wpt.rs`.

#[path = "../support/mod.rs"]
mod support;

mod bindings;
mod cache_api;
mod cloudflare;
mod crypto;
#[cfg(feature = "v8")]
mod engine_v8;
mod handlers;
mod harness;
mod limits;
mod web;
mod wpt;

macro_rules! runtime_suite {
    ($engine:ident, $factory:expr) => {
        mod $engine {
            use std::sync::Arc;
            use nano::ports::AppRuntime;
            fn make_with(options: nano::adapters::js::RuntimeOptions) -> Arc<dyn AppRuntime> {
                ($factory)(options)
            }
            fn make() -> Arc<dyn AppRuntime> {
                make_with(nano::adapters::js::RuntimeOptions { threads: 1, ..Default::default() })
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn idle_isolates_are_evicted() {
                crate::limits::idle_isolates_are_evicted(make_with).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn live_isolates_stay_under_the_cap() {
                crate::limits::live_isolates_stay_under_the_cap(make_with).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn long_turn_apps_move_to_background_threads() {
                crate::limits::long_turn_apps_move_to_background_threads(make_with).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn requests_queued_before_an_app_turned_long_are_handed_on() {
                crate::limits::requests_queued_before_an_app_turned_long_are_handed_on(make_with).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn long_turns_spread_but_never_hold_every_thread() {
                crate::limits::long_turns_spread_but_never_hold_every_thread(make_with).await;
            }
            runtime_suite!(@each make; web: [
                hello_world, request_fields, post_bodies, response_helpers, headers_behaviour,
                streaming_response_is_not_buffered, large_streaming_response, request_body_streams,
                streams_behaviour, transform_and_pipe, encoding_behaviour, url_behaviour, urlpattern_cases, urlpattern_router, base64_behaviour,
                timers_behaviour, microtasks_and_clone, global_error_events, global_rejection_events, crypto_behaviour, crypto_derivation_and_aes, crypto_signatures, compression_streams, events_and_abort, messaging_byob_and_strategies, blob_and_formdata,
                fetch_outbound, relative_imports, console_and_performance, string_bodies, incoming_request_read_late,
            ]);
            runtime_suite!(@each make; crypto: [
                crypto_matches_node, crypto_known_answers, crypto_round_trips, crypto_errors, crypto_jwt_against_a_jwks,
                crypto_keys_are_sealed,
            ]);
            runtime_suite!(@each make; bindings: [
                data_binding, cache_binding, storage_binding, search_binding, queue_binding,
                bindings_are_scoped_to_tenant_and_domain, cpu_limit_during_streamed_upload, assets_binding,
            ]);
            runtime_suite!(@each make; wpt: [wpt_url_data_sets]);
            runtime_suite!(@each make; cache_api: [cache_api_behaviour, cache_api_is_per_tenant]);
            runtime_suite!(@each make; cloudflare: [
                kv_binding, kv_names_follow_the_cache_rules, r2_binding, queues_binding,
                cloudflare_bindings_are_scoped_to_tenant, service_bindings_reach_apps_of_the_tenant,
                service_bindings_stop_at_the_tenant_and_the_limits,
            ]);
            runtime_suite!(@each make; handlers: [
                queue_handler_acks_and_retries, queue_handler_throw_retries_unacked, scheduled_handler,
            ]);
            runtime_suite!(@each make; limits: [
                cpu_limit_spares_other_apps, background_work_is_cpu_limited, memory_limit_replaces_isolate, wall_limit, subrequest_limit,
                request_signal_aborts_when_the_request_ends, request_body_limit, env_limits_name_app_and_var, startup_limit, load_errors,
                env_isolation, wait_until_runs_after_response, exceptions_give_500_and_isolate_survives,
                concurrent_requests_interleave_in_one_isolate, reload_lets_in_flight_requests_finish,
                unload_and_reload, stats_count_requests_and_terminations, logs_name_app_tenant_and_request,
            ]);
        }
    };
    (@each $make:ident; $module:ident: [$($t:ident),* $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $t() {
                crate::$module::$t(&$make()).await;
            }
        )*
    };
}

#[cfg(feature = "quickjs")]
runtime_suite!(quickjs, |options| Arc::new(
    nano::adapters::js::JsRuntime::<nano::adapters::js::quickjs::QuickJs>::with_options(options)
        .expect("quickjs runtime")
));

#[cfg(feature = "v8")]
runtime_suite!(v8, |options| Arc::new(
    nano::adapters::js::JsRuntime::<nano::adapters::js::v8::V8>::with_options(options)
        .expect("v8 runtime")
));
