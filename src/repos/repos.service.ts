import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { MoreThan, Repository } from 'typeorm';
import { RepositoryEntity } from './repository.entity.js';

@Injectable()
export class ReposService {
  constructor(
    @InjectRepository(RepositoryEntity) private readonly repos: Repository<RepositoryEntity>,
  ) {}

  findByName(name: string): Promise<RepositoryEntity | null> {
    return this.repos.findOne({ where: { name } });
  }

  /** Returns the repository, creating it on first push. Safe under concurrent first pushes. */
  async findOrCreate(name: string): Promise<RepositoryEntity> {
    const found = await this.findByName(name);
    if (found) return found;
    await this.repos.createQueryBuilder().insert().values({ name }).orIgnore().execute();
    return (await this.findByName(name))!;
  }

  /** Repository names in lexical order after `last`, at most `limit` (the catalog). */
  async listNames(limit: number, last?: string): Promise<string[]> {
    const rows = await this.repos.find({
      select: { name: true },
      where: last ? { name: MoreThan(last) } : {},
      order: { name: 'ASC' },
      take: limit,
    });
    return rows.map((r) => r.name);
  }
}
