package weir.bench.nexmark.model;

/** A new person, as in the Nexmark suite's schema. A Flink POJO: public fields, no-arg constructor. */
public class Person {
  public long id;
  public String name;
  public String emailAddress;
  public String creditCard;
  public String city;
  public String state;
  /** Milliseconds since the epoch. */
  public long dateTime;
  public String extra;

  public Person() {}
}
