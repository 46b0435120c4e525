//! CloudWatch's `AWS/ECS` metrics from real containers: with no load set,
//! a service's CPU and memory utilisation are what its containers use,
//! measured from the Engine's stats and sampled once a minute, in percent
//! of what the tasks reserve.

use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Statistic};
use aws_sdk_ecs::types::LaunchType;

use super::{container, register, start};
use crate::cloudwatch::cloudwatch_client;

#[tokio::test]
async fn a_busy_containers_cpu_shows_in_cloudwatch_and_an_idle_ones_does_not() {
    let (emulator, client) = start().await;
    let busy = container("spin").cpu(256).command("sh").command("-c").command("while :; do :; done").build();
    let idle = container("nap").cpu(256).command("sleep").command("3600").build();
    for (name, definition) in [("busy", busy), ("idle", idle)] {
        let td = register(&client, name, vec![definition]).await;
        client
            .create_service()
            .cluster("c")
            .service_name(name)
            .task_definition(&td)
            .desired_count(1)
            .launch_type(LaunchType::Ec2)
            .send()
            .await
            .expect("service");
    }
    let cw = cloudwatch_client(&emulator.endpoint());
    let average = |service: &'static str| {
        let now = std::time::SystemTime::now();
        cw.get_metric_statistics()
            .namespace("AWS/ECS")
            .metric_name("CPUUtilization")
            .dimensions(Dimension::builder().name("ClusterName").value("c").build())
            .dimensions(Dimension::builder().name("ServiceName").value(service).build())
            .start_time(DateTime::from(now - Duration::from_secs(600)))
            .end_time(DateTime::from(now + Duration::from_secs(60)))
            .period(60)
            .statistics(Statistic::Average)
            .send()
    };
    // A measurement every 10 s, a datapoint at each minute boundary after it.
    let deadline = Instant::now() + Duration::from_secs(150);
    let (busy, idle) = loop {
        let busy = average("busy").await.expect("busy stats");
        let idle = average("idle").await.expect("idle stats");
        if let (Some(b), Some(i)) = (busy.datapoints().last(), idle.datapoints().last()) {
            break (b.average().unwrap(), i.average().unwrap());
        }
        assert!(Instant::now() < deadline, "no datapoint from the containers within 150 s");
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    // A busy loop takes up to a core (1,024 units) of the 256 reserved,
    // even on a loaded machine far more than a sleeping container.
    assert!(busy > 20.0, "busy: {busy} %");
    assert!(idle < 5.0, "idle: {idle} %");
    let memory = cw
        .get_metric_statistics()
        .namespace("AWS/ECS")
        .metric_name("MemoryUtilization")
        .dimensions(Dimension::builder().name("ClusterName").value("c").build())
        .start_time(DateTime::from(std::time::SystemTime::now() - Duration::from_secs(600)))
        .end_time(DateTime::from(std::time::SystemTime::now() + Duration::from_secs(60)))
        .period(60)
        .statistics(Statistic::Maximum)
        .statistics(Statistic::SampleCount)
        .send()
        .await
        .expect("memory stats");
    let point = memory.datapoints().last().expect("a memory datapoint for the cluster");
    assert!(point.maximum().unwrap() > 0.0 && point.maximum().unwrap() < 100.0, "{point:?}");
    assert!(point.sample_count().is_some_and(|n| n >= 1.0), "the cluster's tasks: {point:?}");
}
