//! CloudWatch's `AWS/ECS` metrics on the emulator's port, in every
//! protocol CloudWatch's model lists: Smithy RPC v2 CBOR (what
//! `aws-sdk-cloudwatch` speaks), AWS JSON 1.0 (what the AWS CLI speaks)
//! and query (form posts, XML answers), all reading the same datapoints:
//! the per-task utilisation `POST /_emulator/metrics` sets, sampled once a
//! minute on the manual clock. Also CloudWatch's errors in each protocol,
//! PutMetricData, and Cloud Map over CBOR.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Datapoint, Dimension, DimensionFilter, Metric, MetricDataQuery, MetricDatum, MetricStat, ScanBy, StandardUnit,
    Statistic,
};
use ecs_bridge::emulator::RunningEmulator;
use minicbor::data::{IanaTag, Tag, Type};
use serde_json::{Value, json};

use crate::cli::aws;
use crate::support::{REGION, admin, assert_error, discovery_client, fargate_service, register_fargate, start};

const MINUTE: i64 = 60_000;

pub fn cloudwatch_client(endpoint: &str) -> Client {
    use aws_sdk_cloudwatch::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_cloudwatch::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("dev", "dev", None, None, "tests"))
        .build();
    Client::from_conf(config)
}

/// Moves the manual clock by `millis`; the time after.
async fn advance_millis(emulator: &RunningEmulator, millis: i64) -> i64 {
    let (status, body) =
        admin(&emulator.endpoint(), reqwest::Method::POST, "clock/advance", json!({ "millis": millis })).await;
    assert_eq!(status, 200, "advance: {body}");
    body["nowMillis"].as_i64().expect("nowMillis")
}

async fn load(emulator: &RunningEmulator, body: Value) {
    let (status, answer) = admin(&emulator.endpoint(), reqwest::Method::POST, "metrics", body).await;
    assert_eq!(status, 200, "set load: {answer}");
}

fn time(millis: i64) -> DateTime {
    DateTime::from_millis(millis)
}

fn iso(millis: i64) -> String {
    jiff::Timestamp::from_millisecond(millis).unwrap().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn dimension(name: &str, value: &str) -> Dimension {
    Dimension::builder().name(name).value(value).build()
}

/// A `demo` cluster whose service `web` runs two tasks at 40 % CPU and
/// 25 % memory for three minutes, then 80 % CPU for two: the first minute
/// boundary after the service started is returned (`m0`), and the samples
/// are at m0 + 1…5 minutes.
async fn two_loads() -> (RunningEmulator, i64) {
    let (emulator, ecs) = start().await;
    ecs.create_cluster().cluster_name("demo").send().await.unwrap();
    register_fargate(&ecs, "web").await;
    fargate_service(&ecs, "demo", "web", "web").desired_count(2).send().await.unwrap();
    let now = advance_millis(&emulator, 5_000).await;
    // Just past a minute boundary, so the load holds from the next one on.
    let m0 = (now / MINUTE + 1) * MINUTE;
    advance_millis(&emulator, m0 + 1_000 - now).await;
    load(&emulator, json!({ "cluster": "demo", "service": "web", "cpu": 40, "memory": 25 })).await;
    advance_millis(&emulator, 3 * MINUTE).await;
    load(&emulator, json!({ "cluster": "demo", "service": "web", "cpu": 80 })).await;
    advance_millis(&emulator, 2 * MINUTE).await;
    (emulator, m0)
}

/// (timestamp millis, SampleCount, Average, Sum, Minimum, Maximum), oldest first.
type Row = (i64, f64, f64, f64, f64, f64);

fn rows(points: &[Datapoint]) -> Vec<Row> {
    let mut rows: Vec<Row> = points
        .iter()
        .map(|p| {
            assert_eq!(p.unit(), Some(&StandardUnit::Percent));
            (
                p.timestamp().unwrap().to_millis().unwrap(),
                p.sample_count().unwrap(),
                p.average().unwrap(),
                p.sum().unwrap(),
                p.minimum().unwrap(),
                p.maximum().unwrap(),
            )
        })
        .collect();
    rows.sort_by_key(|r| r.0);
    rows
}

fn expected_minutes(m0: i64) -> Vec<Row> {
    let mut out = Vec::new();
    for i in 1..=3 {
        out.push((m0 + i * MINUTE, 2.0, 40.0, 80.0, 40.0, 40.0));
    }
    for i in 4..=5 {
        out.push((m0 + i * MINUTE, 2.0, 80.0, 160.0, 80.0, 80.0));
    }
    out
}

fn all_statistics() -> Vec<Statistic> {
    vec![Statistic::SampleCount, Statistic::Average, Statistic::Sum, Statistic::Minimum, Statistic::Maximum]
}

#[tokio::test]
async fn the_sdk_reads_ecs_utilisation_over_cbor_per_service_and_per_cluster() {
    let (emulator, m0) = two_loads().await;
    let cw = cloudwatch_client(&emulator.endpoint());
    let stats = |dimensions: Vec<Dimension>, period: i32| {
        cw.get_metric_statistics()
            .namespace("AWS/ECS")
            .metric_name("CPUUtilization")
            .set_dimensions(Some(dimensions))
            .start_time(time(m0))
            .end_time(time(m0 + 10 * MINUTE))
            .period(period)
            .set_statistics(Some(all_statistics()))
            .send()
    };
    let service = stats(vec![dimension("ClusterName", "demo"), dimension("ServiceName", "web")], 60).await.unwrap();
    assert_eq!(service.label(), Some("CPUUtilization"));
    assert_eq!(rows(service.datapoints()), expected_minutes(m0));
    // The dimensions in another order name the same metric.
    let swapped = stats(vec![dimension("ServiceName", "web"), dimension("ClusterName", "demo")], 60).await.unwrap();
    assert_eq!(rows(swapped.datapoints()), expected_minutes(m0));
    // The cluster's metric holds its one service's tasks.
    let cluster = stats(vec![dimension("ClusterName", "demo")], 60).await.unwrap();
    assert_eq!(rows(cluster.datapoints()), expected_minutes(m0));
    // Five-minute periods from m0: four minutes (eight task samples), then one.
    let five = stats(vec![dimension("ClusterName", "demo"), dimension("ServiceName", "web")], 300).await.unwrap();
    assert_eq!(
        rows(five.datapoints()),
        vec![(m0, 8.0, 50.0, 400.0, 40.0, 80.0), (m0 + 5 * MINUTE, 2.0, 80.0, 160.0, 80.0, 80.0)]
    );
    // Another service, or a metric with a dimension too many, has nothing.
    let other = stats(vec![dimension("ClusterName", "demo"), dimension("ServiceName", "api")], 60).await.unwrap();
    assert!(other.datapoints().is_empty());

    // Memory held 25 % throughout.
    let memory = cw
        .get_metric_statistics()
        .namespace("AWS/ECS")
        .metric_name("MemoryUtilization")
        .dimensions(dimension("ClusterName", "demo"))
        .dimensions(dimension("ServiceName", "web"))
        .start_time(time(m0))
        .end_time(time(m0 + 10 * MINUTE))
        .period(60)
        .statistics(Statistic::Maximum)
        .send()
        .await
        .unwrap();
    let maxima: Vec<f64> = memory.datapoints().iter().map(|p| p.maximum().unwrap()).collect();
    assert_eq!(maxima, vec![25.0; 5]);
    assert!(memory.datapoints().iter().all(|p| p.average().is_none()), "only the statistics asked for");

    // GetMetricData: newest first by default; ascending when asked.
    let query = |id: &str, metric: &str, stat: &str, period: i32| {
        MetricDataQuery::builder()
            .id(id)
            .metric_stat(
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace("AWS/ECS")
                            .metric_name(metric)
                            .dimensions(dimension("ClusterName", "demo"))
                            .dimensions(dimension("ServiceName", "web"))
                            .build(),
                    )
                    .period(period)
                    .stat(stat)
                    .build(),
            )
            .build()
    };
    let data = cw
        .get_metric_data()
        .metric_data_queries(query("cpu", "CPUUtilization", "Average", 60))
        .metric_data_queries(query("mem", "MemoryUtilization", "SampleCount", 300))
        .start_time(time(m0))
        .end_time(time(m0 + 10 * MINUTE))
        .send()
        .await
        .unwrap();
    let results = data.metric_data_results();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].id(), Some("cpu"));
    assert_eq!(results[0].label(), Some("CPUUtilization"));
    assert_eq!(results[0].values(), &[80.0, 80.0, 40.0, 40.0, 40.0]);
    let stamps: Vec<i64> = results[0].timestamps().iter().map(|t| t.to_millis().unwrap()).collect();
    assert_eq!(stamps, (1..=5).rev().map(|i| m0 + i * MINUTE).collect::<Vec<_>>());
    assert_eq!(results[0].status_code().map(|s| s.as_str()), Some("Complete"));
    assert_eq!(results[1].values(), &[2.0, 8.0]);
    let ascending = cw
        .get_metric_data()
        .metric_data_queries(query("cpu", "CPUUtilization", "Maximum", 60))
        .start_time(time(m0))
        .end_time(time(m0 + 10 * MINUTE))
        .scan_by(ScanBy::TimestampAscending)
        .max_datapoints(3)
        .send()
        .await
        .unwrap();
    assert_eq!(ascending.metric_data_results()[0].values(), &[40.0, 40.0, 40.0]);
    assert_eq!(ascending.metric_data_results()[0].status_code().map(|s| s.as_str()), Some("PartialData"));
    let token = ascending.next_token().expect("a next page").to_owned();
    let rest = cw
        .get_metric_data()
        .metric_data_queries(query("cpu", "CPUUtilization", "Maximum", 60))
        .start_time(time(m0))
        .end_time(time(m0 + 10 * MINUTE))
        .scan_by(ScanBy::TimestampAscending)
        .max_datapoints(3)
        .next_token(token)
        .send()
        .await
        .unwrap();
    assert_eq!(rest.metric_data_results()[0].values(), &[80.0, 80.0]);
    assert_eq!(rest.next_token(), None);

    // ListMetrics: two metrics per service and per cluster.
    let listed = cw.list_metrics().namespace("AWS/ECS").send().await.unwrap();
    let mut names: Vec<(String, Vec<String>)> = listed
        .metrics()
        .iter()
        .map(|m| {
            let dims = m.dimensions().iter().map(|d| format!("{}={}", d.name().unwrap(), d.value().unwrap())).collect();
            (m.metric_name().unwrap().to_owned(), dims)
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            ("CPUUtilization".to_owned(), vec!["ClusterName=demo".to_owned()]),
            ("CPUUtilization".to_owned(), vec!["ClusterName=demo".to_owned(), "ServiceName=web".to_owned()]),
            ("MemoryUtilization".to_owned(), vec!["ClusterName=demo".to_owned()]),
            ("MemoryUtilization".to_owned(), vec!["ClusterName=demo".to_owned(), "ServiceName=web".to_owned()]),
        ]
    );
    let filtered = cw
        .list_metrics()
        .metric_name("CPUUtilization")
        .dimensions(DimensionFilter::builder().name("ServiceName").build())
        .recently_active(aws_sdk_cloudwatch::types::RecentlyActive::Pt3H)
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.metrics().len(), 1);
}

/// The datapoints of a JSON `GetMetricStatistics` answer (the CLI's or
/// JSON 1.0's) as rows.
fn json_rows(answer: &Value) -> Vec<Row> {
    let mut rows: Vec<Row> = answer["Datapoints"]
        .as_array()
        .unwrap_or_else(|| panic!("no datapoints: {answer}"))
        .iter()
        .map(|p| {
            let at = match &p["Timestamp"] {
                Value::String(s) => s.parse::<jiff::Timestamp>().unwrap().as_millisecond(),
                n => (n.as_f64().unwrap() * 1000.0) as i64,
            };
            let f = |k: &str| p[k].as_f64().unwrap_or(f64::NAN);
            (at, f("SampleCount"), f("Average"), f("Sum"), f("Minimum"), f("Maximum"))
        })
        .collect();
    rows.sort_by_key(|r| r.0);
    rows
}

fn same_rows(got: Vec<Row>, want: Vec<Row>) {
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(format!("{g:?}"), format!("{w:?}"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_json_and_query_protocols_read_the_same_datapoints() {
    let (emulator, m0) = two_loads().await;
    let endpoint = emulator.endpoint();
    let (start, end) = (m0, m0 + 10 * MINUTE);

    // The AWS CLI, as AWS's documentation writes it (it speaks JSON 1.0).
    let (start_at, end_at) = (iso(start), iso(end));
    let out = cli_cpu_statistics(
        &endpoint,
        &[
            "--dimensions",
            "Name=ClusterName,Value=demo",
            "Name=ServiceName,Value=web",
            "--statistics",
            "SampleCount",
            "Average",
            "Sum",
            "Minimum",
            "Maximum",
            "--start-time",
            &start_at,
            "--end-time",
            &end_at,
            "--period",
            "60",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli["Label"], "CPUUtilization");
    same_rows(json_rows(&cli), expected_minutes(m0));

    // JSON 1.0 by hand.
    let body = json!({
        "Namespace": "AWS/ECS",
        "MetricName": "CPUUtilization",
        "Dimensions": [{"Name": "ClusterName", "Value": "demo"}, {"Name": "ServiceName", "Value": "web"}],
        "StartTime": start as f64 / 1000.0,
        "EndTime": end as f64 / 1000.0,
        "Period": 60,
        "Statistics": ["SampleCount", "Average", "Sum", "Minimum", "Maximum"],
    });
    let response = reqwest::Client::new()
        .post(format!("{endpoint}/"))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "GraniteServiceVersion20100801.GetMetricStatistics")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-amz-json-1.0");
    let answer: Value = response.json().await.unwrap();
    same_rows(json_rows(&answer), expected_minutes(m0));

    // Query: a form post, an XML answer.
    let form = format!(
        "Action=GetMetricStatistics&Version=2010-08-01&Namespace=AWS%2FECS&MetricName=CPUUtilization\
&Dimensions.member.1.Name=ClusterName&Dimensions.member.1.Value=demo\
&Dimensions.member.2.Name=ServiceName&Dimensions.member.2.Value=web\
&StartTime={}&EndTime={}&Period=300&Statistics.member.1=Average&Statistics.member.2=SampleCount",
        iso(start),
        iso(end)
    );
    let (status, xml) = query(&endpoint, &form).await;
    assert_eq!(status, 200, "{xml}");
    assert!(xml.starts_with(
        "<GetMetricStatisticsResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><GetMetricStatisticsResult>"
    ));
    let members: Vec<&str> = xml.split("<member>").skip(1).collect();
    assert_eq!(members.len(), 2, "{xml}");
    let first_at = format!("<Timestamp>{}</Timestamp>", iso8601_millis(m0));
    assert!(members[0].contains(&first_at), "{xml}");
    assert!(members[0].contains("<Average>50.0</Average><SampleCount>8.0</SampleCount>"), "{xml}");
    assert!(members[1].contains("<Average>80.0</Average><SampleCount>2.0</SampleCount>"), "{xml}");
    assert!(xml.contains("<Label>CPUUtilization</Label>"), "{xml}");
    assert!(xml.contains("<ResponseMetadata><RequestId>"), "{xml}");

    // ListMetrics over query, and the same metric store.
    let (status, xml) = query(&endpoint, "Action=ListMetrics&Version=2010-08-01&MetricName=MemoryUtilization").await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(xml.matches("<MetricName>MemoryUtilization</MetricName>").count(), 2, "{xml}");
}

/// `aws cloudwatch get-metric-statistics --namespace AWS/ECS --metric-name
/// CPUUtilization <args>`.
fn cli_cpu_statistics(endpoint: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["get-metric-statistics", "--namespace", "AWS/ECS", "--metric-name", "CPUUtilization"];
    all.extend_from_slice(args);
    aws("cloudwatch", endpoint, &all)
}

fn iso8601_millis(millis: i64) -> String {
    jiff::Timestamp::from_millisecond(millis).unwrap().strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

async fn query(endpoint: &str, form: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{endpoint}/"))
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .body(form.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    if status == 200 || status >= 400 {
        assert_eq!(response.headers()["content-type"], "text/xml");
    }
    (status, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_cloudwatchs_in_every_protocol() {
    let (emulator, _ecs) = start().await;
    let endpoint = emulator.endpoint();
    let cw = cloudwatch_client(&endpoint);
    let now = 1_800_000_000_000;
    let stats = |start: i64, end: i64, period: i32| {
        cw.get_metric_statistics()
            .namespace("AWS/ECS")
            .metric_name("CPUUtilization")
            .start_time(time(start))
            .end_time(time(end))
            .period(period)
            .statistics(Statistic::Average)
    };
    // CBOR, through the SDK: the modeled errors, matched by their query code.
    let err = stats(now, now + MINUTE, 90).send().await.unwrap_err().into_service_error();
    assert!(err.is_invalid_parameter_value_exception(), "{err:?}");
    assert_error(
        stats(now, now + MINUTE, 90).send().await,
        "InvalidParameterValue",
        Some("The parameter Period must be a multiple of 60."),
    );
    let err = stats(now, now + 2 * 24 * 60 * MINUTE, 60).send().await.unwrap_err().into_service_error();
    assert!(err.is_invalid_parameter_combination_exception(), "{err:?}");
    assert_error(
        stats(now, now + 2 * 24 * 60 * MINUTE, 60).send().await,
        "InvalidParameterCombination",
        Some(
            "You have requested up to 2,880 datapoints, which exceeds the limit of 1,440. You may reduce the datapoints requested by increasing Period, or decreasing the time range.",
        ),
    );
    assert_error(
        stats(now, now, 60).send().await,
        "InvalidParameterValue",
        Some("The parameter StartTime must be less than the parameter EndTime."),
    );
    let no_statistics = cw
        .get_metric_statistics()
        .namespace("AWS/ECS")
        .metric_name("CPUUtilization")
        .start_time(time(now))
        .end_time(time(now + MINUTE))
        .period(60)
        .send()
        .await;
    let err = no_statistics.unwrap_err().into_service_error();
    assert!(err.is_missing_required_parameter_exception(), "{err:?}");
    let expression = cw
        .get_metric_data()
        .metric_data_queries(MetricDataQuery::builder().id("e1").expression("SUM(METRICS())").build())
        .start_time(time(now))
        .end_time(time(now + MINUTE))
        .send()
        .await;
    let (code, message) = crate::support::error(expression);
    assert_eq!(code, "InvalidParameterValue");
    assert!(message.contains("MetricDataQueries.member.1.Expression"), "{message}");
    assert_error(
        cw.list_metrics().recently_active(aws_sdk_cloudwatch::types::RecentlyActive::from("PT1H")).send().await,
        "InvalidParameterValue",
        Some("The value PT1H for parameter RecentlyActive is invalid."),
    );
    assert_error(cw.describe_alarms().send().await, "UnsupportedFeatureException", None);

    // JSON 1.0: the shape in `__type`, the query code in `x-amzn-query-error`.
    let response = reqwest::Client::new()
        .post(format!("{endpoint}/"))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "GraniteServiceVersion20100801.GetMetricStatistics")
        .body(r#"{"Namespace": "AWS/ECS", "MetricName": "CPUUtilization", "StartTime": 1, "EndTime": 2}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["x-amzn-query-error"], "MissingParameter;Sender");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"__type": "MissingRequiredParameterException", "message": "The parameter Period is required."})
    );

    // Query: XML errors with the query code.
    let (status, xml) = query(
        &endpoint,
        "Action=GetMetricStatistics&Version=2010-08-01&Namespace=AWS%2FECS&MetricName=CPUUtilization\
&StartTime=2027-01-15T00:00:00Z&EndTime=2027-01-15T01:00:00Z&Period=90&Statistics.member.1=Average",
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        xml.contains("<Error><Type>Sender</Type><Code>InvalidParameterValue</Code><Message>The parameter Period must be a multiple of 60.</Message></Error>"),
        "{xml}"
    );
    let (status, xml) = query(&endpoint, "Action=GetMetricStatistics&Version=2010-08-01").await;
    assert_eq!(status, 400);
    assert!(
        xml.contains("<Code>MissingParameter</Code><Message>The parameter Namespace is required.</Message>"),
        "{xml}"
    );
    let (status, xml) = query(&endpoint, "Action=GetMetricStatistics&Version=2010-08-01&Period=abc").await;
    assert_eq!(status, 400);
    assert!(xml.contains("<Code>InvalidParameterValue</Code>") && xml.contains("Period"), "{xml}");
    let (status, xml) = query(&endpoint, "Action=Launch&Version=2010-08-01").await;
    assert_eq!(status, 400);
    assert!(
        xml.contains(
            "<Code>InvalidAction</Code><Message>The action Launch is not valid for this web service.</Message>"
        ),
        "{xml}"
    );

    // The AWS CLI shows the query code.
    let out = cli_cpu_statistics(
        &endpoint,
        &[
            "--statistics",
            "Average",
            "--start-time",
            "2027-01-15T00:00:00Z",
            "--end-time",
            "2027-01-15T01:00:00Z",
            "--period",
            "90",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("(InvalidParameterValue)"), "{stderr}");
    assert!(stderr.contains("The parameter Period must be a multiple of 60."), "{stderr}");
}

#[tokio::test]
async fn put_metric_data_stores_custom_metrics_beside_ecs() {
    let (emulator, _ecs) = start().await;
    let cw = cloudwatch_client(&emulator.endpoint());
    let now = advance_millis(&emulator, 0).await;
    let minute = now / MINUTE * MINUTE;
    cw.put_metric_data()
        .namespace("Shop")
        .metric_data(MetricDatum::builder().metric_name("Orders").value(3.0).unit(StandardUnit::Count).build())
        .metric_data(
            MetricDatum::builder()
                .metric_name("Orders")
                .values(5.0)
                .values(7.0)
                .counts(1.0)
                .counts(2.0)
                .unit(StandardUnit::Count)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let stats = cw
        .get_metric_statistics()
        .namespace("Shop")
        .metric_name("Orders")
        .start_time(time(minute))
        .end_time(time(minute + MINUTE))
        .period(60)
        .set_statistics(Some(all_statistics()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        stats.datapoints().iter().map(|p| (p.sample_count(), p.sum(), p.minimum(), p.maximum())).collect::<Vec<_>>(),
        vec![(Some(4.0), Some(22.0), Some(3.0), Some(7.0))]
    );
    assert_eq!(stats.datapoints()[0].unit(), Some(&StandardUnit::Count));
    let percent = cw
        .get_metric_statistics()
        .namespace("Shop")
        .metric_name("Orders")
        .start_time(time(minute))
        .end_time(time(minute + MINUTE))
        .period(60)
        .statistics(Statistic::Sum)
        .unit(StandardUnit::Percent)
        .send()
        .await
        .unwrap();
    assert!(percent.datapoints().is_empty(), "another unit matches nothing");
    assert_error(
        cw.put_metric_data()
            .namespace("AWS/ECS")
            .metric_data(MetricDatum::builder().metric_name("CPUUtilization").value(1.0).build())
            .send()
            .await,
        "InvalidParameterValue",
        Some("The value AWS/ for parameter Namespace is invalid."),
    );
}

/// A CBOR map of text members.
fn cbor_map(members: &[(&str, &str)]) -> Vec<u8> {
    let mut e = minicbor::Encoder::new(Vec::new());
    e.map(members.len() as u64).unwrap();
    for (k, v) in members {
        e.str(k).unwrap().str(v).unwrap();
    }
    e.into_writer()
}

async fn cloud_map_cbor(endpoint: &str, operation: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
    let response = reqwest::Client::new()
        .post(format!("{endpoint}/service/Route53AutoNaming_v20170314/operation/{operation}"))
        .header("smithy-protocol", "rpc-v2-cbor")
        .header("content-type", "application/cbor")
        .header("accept", "application/cbor")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["smithy-protocol"], "rpc-v2-cbor");
    assert_eq!(response.headers()["content-type"], "application/cbor");
    (response.status().as_u16(), response.bytes().await.unwrap().to_vec())
}

/// The text at `key` of a CBOR map, or whether `key`'s value is a
/// timestamp (tag 1).
fn cbor_text(bytes: &[u8], key: &str) -> Option<String> {
    let mut d = minicbor::Decoder::new(bytes);
    let n = d.map().unwrap().unwrap();
    for _ in 0..n {
        let k = d.str().unwrap();
        if k == key {
            return Some(d.str().unwrap().to_owned());
        }
        d.skip().unwrap();
    }
    None
}

#[tokio::test]
async fn cloud_map_answers_smithy_rpc_v2_cbor_with_the_same_handlers() {
    let (emulator, _ecs) = start().await;
    let endpoint = emulator.endpoint();
    let (status, body) = cloud_map_cbor(&endpoint, "CreateHttpNamespace", cbor_map(&[("Name", "cbor-ns")])).await;
    assert_eq!(status, 200);
    let operation_id = cbor_text(&body, "OperationId").expect("an operation id");
    assert!(!operation_id.is_empty());

    // The namespace is the one JSON 1.1 (aws-sdk-servicediscovery) sees.
    let sd = discovery_client(&endpoint);
    let listed = sd.list_namespaces().send().await.unwrap();
    let ns = listed.namespaces().iter().find(|n| n.name() == Some("cbor-ns")).expect("listed over JSON");
    let id = ns.id().unwrap().to_owned();

    // GetNamespace over CBOR: CreateDate is a CBOR timestamp.
    let (status, body) = cloud_map_cbor(&endpoint, "GetNamespace", cbor_map(&[("Id", &id)])).await;
    assert_eq!(status, 200);
    let mut d = minicbor::Decoder::new(&body);
    assert_eq!(d.map().unwrap(), Some(1));
    assert_eq!(d.str().unwrap(), "Namespace");
    let n = d.map().unwrap().unwrap();
    let mut seen = Vec::new();
    for _ in 0..n {
        let key = d.str().unwrap().to_owned();
        if key == "CreateDate" {
            assert_eq!(d.datatype().unwrap(), Type::Tag);
            assert_eq!(d.tag().unwrap(), Tag::from(IanaTag::Timestamp));
        }
        if key == "Name" {
            assert_eq!(d.str().unwrap(), "cbor-ns");
        } else {
            d.skip().unwrap();
        }
        seen.push(key);
    }
    assert!(seen.contains(&"CreateDate".to_owned()) && seen.contains(&"Id".to_owned()), "{seen:?}");

    // Errors: `__type` and the service's message member, status 400.
    let (status, body) = cloud_map_cbor(&endpoint, "GetNamespace", cbor_map(&[("Id", "ns-nope")])).await;
    assert_eq!(status, 400);
    assert_eq!(cbor_text(&body, "__type").as_deref(), Some("NamespaceNotFound"));
    assert_eq!(cbor_text(&body, "Message").as_deref(), Some("Namespace not found: ns-nope"));
    let (status, body) = cloud_map_cbor(&endpoint, "GetNamespace", vec![0xa1, 0x01]).await;
    assert_eq!(status, 400);
    assert_eq!(cbor_text(&body, "__type").as_deref(), Some("SerializationException"));
    let (status, body) = cloud_map_cbor(&endpoint, "Frobnicate", cbor_map(&[])).await;
    assert_eq!(status, 400);
    assert_eq!(cbor_text(&body, "__type").as_deref(), Some("UnknownOperationException"));
}
