/**
 * A deployment (or a test) may share one cluster with others by prefixing every topic and group.
 * Apps keep using the plain names from `@moodstream/events`; only the bus sees the prefixed ones.
 */
export class TopicNaming {
  constructor(readonly prefix: string) {}

  physical(topic: string): string {
    return this.prefix + topic;
  }

  logical(physicalTopic: string): string {
    return this.prefix !== '' && physicalTopic.startsWith(this.prefix) ? physicalTopic.slice(this.prefix.length) : physicalTopic;
  }

  group(groupId: string): string {
    return this.prefix + groupId;
  }
}
