import { Field, ObjectType } from 'type-graphql';
import { RoleEnum } from './enums.js';

@ObjectType('Viewer', { simpleResolvers: true, description: 'Who is asking: the token of this request.' })
export class Viewer {
  @Field(() => RoleEnum, {
    description: "The request token's role, so a client offers only what the API would allow.",
  })
  role!: RoleEnum;
}
